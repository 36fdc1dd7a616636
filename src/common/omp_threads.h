// ScopedOmpThreads: sets the calling thread's OpenMP team size for a scope.
// Lathe pins OpenMP to one thread for per-query work (FAISS and BLAS would
// otherwise fight the request-level parallelism over the cores) and raises it
// only around bulk builds: IVF training and LSA training.
#pragma once

#include <omp.h>

namespace lathe {

class ScopedOmpThreads {
 public:
  explicit ScopedOmpThreads(int n) : previous_(omp_get_max_threads()) { omp_set_num_threads(n < 1 ? 1 : n); }
  ~ScopedOmpThreads() { omp_set_num_threads(previous_); }
  ScopedOmpThreads(const ScopedOmpThreads&) = delete;
  ScopedOmpThreads& operator=(const ScopedOmpThreads&) = delete;

 private:
  int previous_;
};

}  // namespace lathe
