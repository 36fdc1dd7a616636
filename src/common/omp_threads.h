// ScopedOmpThreads: sets the calling thread's OpenMP team size for a scope.
// Lathe pins OpenMP to one thread for per-query work (FAISS and BLAS would
// otherwise fight the request-level parallelism over the cores) and raises it
// only around bulk builds: IVF training and LSA training.
//
// ScopedBlasThreads does the same for the BLAS library's own threads.
// Debian's default BLAS is OpenBLAS built on pthreads, which ignores OpenMP's
// setting and uses every core: FAISS's k-means (IVF training) is almost all
// BLAS products, so without this `--threads 1` still trained on all cores,
// and OpenMP teams spinning beside BLAS threads slowed 2-thread builds down.
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

// Sets the BLAS library's thread count (process-wide) when it is OpenBLAS;
// any other BLAS is left alone. Returns the previous count, or 0 when the
// BLAS has no such setting.
int SetBlasThreads(int n);

class ScopedBlasThreads {
 public:
  explicit ScopedBlasThreads(int n) : previous_(SetBlasThreads(n)) {}
  ~ScopedBlasThreads() {
    if (previous_ > 0) SetBlasThreads(previous_);
  }
  ScopedBlasThreads(const ScopedBlasThreads&) = delete;
  ScopedBlasThreads& operator=(const ScopedBlasThreads&) = delete;

 private:
  int previous_;
};

}  // namespace lathe
