#include "common/omp_threads.h"

#include <dlfcn.h>

namespace lathe {

int SetBlasThreads(int n) {
  // Looked up at run time: Lathe links the generic libblas, which is OpenBLAS
  // only where the system chose it (Debian's alternatives).
  using GetFn = int (*)();
  using SetFn = void (*)(int);
  static const auto get = reinterpret_cast<GetFn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  static const auto set = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (get == nullptr || set == nullptr) return 0;
  int previous = get();
  set(n < 1 ? 1 : n);
  return previous;
}

}  // namespace lathe
