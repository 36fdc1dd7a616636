# lathe_add_test(NAME SOURCES a.cc b.cc LIBS lib... [LABELS fast|slow ...] [TIMEOUT s])
# Registers a GoogleTest binary with ctest. Tests default to the "fast" label.
find_package(GTest REQUIRED)
include(GoogleTest)

function(lathe_add_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  if(NOT T_LABELS)
    set(T_LABELS fast)
  endif()
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest GTest::gtest_main)
  # tests/test_util.h: temporary directories and child processes for every test.
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  target_compile_definitions(${name} PRIVATE
    LATHE_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    LATHE_BINARY="$<TARGET_FILE:lathe>")
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT})
endfunction()

# lathe_use_standin(test): the test starts tests/llm_standin.cc as a child
# process; LATHE_STANDIN is its path.
function(lathe_use_standin name)
  target_compile_definitions(${name} PRIVATE LATHE_STANDIN="$<TARGET_FILE:lathe_llm_standin>")
  add_dependencies(${name} lathe_llm_standin)
endfunction()
