#include "rag/embed/lsa_embedder.h"

#include <Eigen/Dense>
#include <Eigen/Sparse>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <random>

#include "common/binary_io.h"
#include "common/file_util.h"
#include "common/logging.h"
#include "common/omp_threads.h"
#include "common/snapshot_file.h"

namespace lathe::rag {
namespace {

using MatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic>;
// The tall dense matrices of the range finder are row-major: a sparse row
// times them adds contiguous rows (vectorised axpys instead of strided
// gathers), and row blocks are contiguous for the pool.
using RowMatrixF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using SparseF = Eigen::SparseMatrix<float, Eigen::RowMajor>;

// Rows per block of the tall products. A block's size follows from the
// matrix's alone, never from the pool's, so every sum is taken in the same
// order whatever --threads is (the trained model does not depend on it); a
// matrix of a few thousand rows still makes dozens of blocks, so that two
// cores end their share together (4,096-row blocks left a SciFact-sized
// corpus of 8,000 chunks with two blocks, and the cores took turns).
Eigen::Index RowBlock(Eigen::Index rows) { return std::clamp<Eigen::Index>((rows + 31) / 32, 256, 4096); }

// fn(begin, rows) for consecutive row blocks of a matrix with `rows` rows,
// across the pool; Eigen inside each block runs on one thread.
void ForRowBlocks(Eigen::Index rows, Eigen::Index block, CpuPool* pool,
                  const std::function<void(size_t, Eigen::Index, Eigen::Index)>& fn) {
  const size_t blocks = static_cast<size_t>((rows + block - 1) / block);
  auto work = [&](size_t b) {
    ScopedOmpThreads one(1);
    Eigen::Index begin = static_cast<Eigen::Index>(b) * block;
    fn(b, begin, std::min(block, rows - begin));
  };
  if (pool != nullptr) {
    pool->ParallelFor(blocks, work);
  } else {
    for (size_t b = 0; b < blocks; ++b) work(b);
  }
}

// m^T m (lower triangle filled): per row block a symmetric rank update (half
// the work of a general product), summed in block order.
MatrixF Gram(const RowMatrixF& m, CpuPool* pool) {
  const Eigen::Index l = m.cols();
  const Eigen::Index block = RowBlock(m.rows());
  std::vector<MatrixF> partial(static_cast<size_t>((m.rows() + block - 1) / block));
  ForRowBlocks(m.rows(), block, pool, [&](size_t b, Eigen::Index begin, Eigen::Index rows) {
    partial[b] = MatrixF::Zero(l, l);
    partial[b].selfadjointView<Eigen::Lower>().rankUpdate(m.middleRows(begin, rows).transpose());
  });
  MatrixF gram = MatrixF::Zero(l, l);
  for (const MatrixF& p : partial) gram += p;
  return gram;
}

// An orthonormal basis of m's columns, in place. CholeskyQR (Q = M R^-1, R
// from the Cholesky factor of M^T M) is all row-block products on the pool;
// `passes` = 2 (CholeskyQR2) restores orthogonality to working precision,
// 1 suffices for a basis that only feeds the next power iteration. Householder
// QR is the fallback when the Gram matrix is too ill-conditioned to factor.
void Orthonormalize(RowMatrixF* m, int passes, CpuPool* pool) {
  for (int pass = 0; pass < passes; ++pass) {
    Eigen::LLT<MatrixF, Eigen::Lower> llt(Gram(*m, pool));
    if (llt.info() != Eigen::Success) {
      LOG_DEBUG("lsa: Gram matrix not positive definite; orthonormalising by Householder QR");
      Eigen::HouseholderQR<MatrixF> qr{MatrixF(*m)};
      *m = qr.householderQ() * MatrixF::Identity(m->rows(), m->cols());
      return;
    }
    // M R^-1 with R = L^T upper triangular: the small inverse times each row
    // block (a triangular product) rather than a sequential solve over all rows.
    MatrixF r_inverse = MatrixF::Identity(m->cols(), m->cols());
    llt.matrixU().solveInPlace(r_inverse);
    ForRowBlocks(m->rows(), RowBlock(m->rows()), pool, [&](size_t, Eigen::Index begin, Eigen::Index rows) {
      RowMatrixF block = m->middleRows(begin, rows) * r_inverse.triangularView<Eigen::Upper>();
      m->middleRows(begin, rows) = block;
    });
  }
}

// sparse * dense, with row blocks of the result computed across the pool
// (Eigen runs this product on one thread).
RowMatrixF Multiply(const SparseF& sparse, const RowMatrixF& dense, CpuPool* pool) {
  RowMatrixF out(sparse.rows(), dense.cols());
  ForRowBlocks(sparse.rows(), 512, pool, [&](size_t, Eigen::Index begin, Eigen::Index rows) {
    out.middleRows(begin, rows).noalias() = sparse.middleRows(begin, rows) * dense;
  });
  return out;
}

}  // namespace

Result<std::unique_ptr<LsaEmbedder>> LsaEmbedder::Train(const std::vector<std::string>& texts,
                                                        const LsaOptions& options, CpuPool* pool) {
  text::Analyzer analyzer;
  std::vector<std::vector<std::string>> analyzed(texts.size());
  auto analyze = [&](size_t i) { analyzed[i] = analyzer.Analyze(texts[i]); };
  if (pool) {
    pool->ParallelFor(texts.size(), analyze, 32);
  } else {
    for (size_t i = 0; i < texts.size(); ++i) analyze(i);
  }
  return TrainOnTerms(std::move(analyzed), options, pool);
}

Result<std::unique_ptr<LsaEmbedder>> LsaEmbedder::TrainOnTerms(std::vector<std::vector<std::string>> analyzed,
                                                               const LsaOptions& options, CpuPool* pool) {
  std::unique_ptr<LsaEmbedder> model(new LsaEmbedder());
  const size_t n = analyzed.size();
  auto t0 = std::chrono::steady_clock::now();
  auto step = [&](const char* what) {
    auto now = std::chrono::steady_clock::now();
    LOG_DEBUG("lsa: {} in {:.3f} s", what, std::chrono::duration<double>(now - t0).count());
    t0 = now;
  };
  // Document frequencies: sorted term lists per text, counted per block of
  // texts on the pool, then merged.
  auto for_blocks = [&](size_t count, const std::function<void(size_t, size_t)>& fn) {
    const size_t block = 1024, blocks = (count + block - 1) / block;
    auto run = [&](size_t b) { fn(b * block, std::min(count, (b + 1) * block)); };
    if (pool) {
      pool->ParallelFor(blocks, run);
    } else {
      for (size_t b = 0; b < blocks; ++b) run(b);
    }
    return blocks;
  };
  // Each block's counts are split into shards by the term's hash, so the
  // merge runs on the pool too, one shard per task (merged serially it was a
  // third of this step at two threads).
  constexpr size_t kShards = 16;
  using Counts = std::unordered_map<std::string, uint32_t>;
  auto shard_of = [](const std::string& term) { return std::hash<std::string>{}(term) % kShards; };
  std::vector<std::array<Counts, kShards>> block_df((n + 1023) / 1024);
  for_blocks(n, [&](size_t begin, size_t end) {
    auto& local = block_df[begin / 1024];
    for (size_t r = begin; r < end; ++r) {
      std::vector<std::string>& terms = analyzed[r];
      std::sort(terms.begin(), terms.end());
      for (size_t i = 0; i < terms.size(); ++i) {
        if (i == 0 || terms[i] != terms[i - 1]) ++local[shard_of(terms[i])][terms[i]];
      }
    }
  });
  const double max_df = std::max(2.0, options.max_df_fraction * static_cast<double>(n));
  std::array<std::vector<std::pair<std::string, uint32_t>>, kShards> shard_candidates;
  auto merge_shard = [&](size_t shard) {
    Counts df = std::move(block_df[0][shard]);
    for (size_t b = 1; b < block_df.size(); ++b) {
      for (auto& [term, count] : block_df[b][shard]) df[term] += count;
      Counts().swap(block_df[b][shard]);
    }
    for (auto& [term, count] : df) {
      if (count >= static_cast<uint32_t>(options.min_df) && count <= max_df) {
        shard_candidates[shard].emplace_back(term, count);
      }
    }
  };
  if (n > 0) {
    if (pool) {
      pool->ParallelFor(kShards, merge_shard);
    } else {
      for (size_t shard = 0; shard < kShards; ++shard) merge_shard(shard);
    }
  }
  std::vector<std::pair<std::string, uint32_t>> candidates;
  for (auto& part : shard_candidates) {
    for (auto& c : part) candidates.push_back(std::move(c));
  }
  if (candidates.size() > static_cast<size_t>(options.max_vocabulary)) {
    // Keep the most frequent terms (ties by term, for determinism).
    std::nth_element(candidates.begin(), candidates.begin() + options.max_vocabulary, candidates.end(),
                     [](const auto& a, const auto& b) {
                       return a.second > b.second || (a.second == b.second && a.first < b.first);
                     });
    candidates.resize(options.max_vocabulary);
  }
  std::sort(candidates.begin(), candidates.end());  // stable term order for determinism
  if (n < 2 || candidates.size() < 2) {
    return InvalidArgument("LSA needs at least 2 texts sharing at least 2 terms (got " + std::to_string(n) +
                           " texts, " + std::to_string(candidates.size()) + " usable terms)");
  }
  for (auto& [term, count] : candidates) {
    model->term_ids_.emplace(term, static_cast<uint32_t>(model->terms_.size()));
    model->terms_.push_back(term);
    model->idf_.push_back(static_cast<float>(std::log(static_cast<double>(n) / count)));
  }
  const size_t vocab = model->terms_.size();
  auto lookup = [&](const std::string& t) -> int64_t {
    auto it = model->term_ids_.find(t);
    return it == model->term_ids_.end() ? int64_t{-1} : int64_t{it->second};
  };

  // TF-IDF matrix, one row per text, built row-parallel straight into
  // compressed row storage (terms are sorted, so equal ids are adjacent).
  std::vector<std::vector<std::pair<int, float>>> rows(n);
  for_blocks(n, [&](size_t begin, size_t end) {
    for (size_t r = begin; r < end; ++r) {
      std::vector<std::pair<int, float>>& row = rows[r];
      const std::vector<std::string>& terms = analyzed[r];
      for (size_t i = 0; i < terms.size();) {
        size_t j = i;
        while (j < terms.size() && terms[j] == terms[i]) ++j;
        int64_t id = lookup(terms[i]);
        if (id >= 0) {
          float w = (1.0f + std::log(static_cast<float>(j - i))) * model->idf_[static_cast<size_t>(id)];
          row.emplace_back(static_cast<int>(id), w);
        }
        i = j;
      }
      std::sort(row.begin(), row.end());
      double norm = 0;
      for (const auto& [id, w] : row) norm += double(w) * w;
      float inv = norm > 0 ? static_cast<float>(1.0 / std::sqrt(norm)) : 0.0f;
      for (auto& [id, w] : row) w *= inv;
    }
  });
  // The matrix is filled in place on the pool, row block by row block
  // (assembled serially it was a tenth of this step's time).
  SparseF a(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(vocab));
  for (size_t r = 0; r < n; ++r) a.outerIndexPtr()[r + 1] = a.outerIndexPtr()[r] + static_cast<int>(rows[r].size());
  const int nonzeros = a.outerIndexPtr()[n];
  a.resizeNonZeros(nonzeros);
  for_blocks(n, [&](size_t begin, size_t end) {
    for (size_t r = begin; r < end; ++r) {
      int at_pos = a.outerIndexPtr()[r];
      for (const auto& [id, w] : rows[r]) {
        a.innerIndexPtr()[at_pos] = id;
        a.valuePtr()[at_pos++] = w;
      }
      std::vector<std::pair<int, float>>().swap(rows[r]);
    }
  });
  SparseF at = a.transpose();
  step("built the TF-IDF matrix");

  // Randomised SVD (Halko, Martinsson & Tropp 2011) with power iterations.
  const int k = static_cast<int>(std::min<size_t>({static_cast<size_t>(options.dim), n - 1, vocab - 1}));
  const int l = static_cast<int>(std::min<size_t>(static_cast<size_t>(k + options.oversample), std::min(n, vocab)));
  // The Gaussian test matrix, drawn on the pool: each block of rows from its
  // own generator, seeded by (seed, block), so the matrix is the same for any
  // number of threads. (Drawn serially it took a tenth of a second on
  // SciFact, a twentieth of the whole ingest at two threads.)
  RowMatrixF omega(static_cast<Eigen::Index>(vocab), l);
  ForRowBlocks(omega.rows(), 1024, pool, [&](size_t b, Eigen::Index begin, Eigen::Index rows) {
    std::seed_seq seed{static_cast<uint32_t>(options.seed), static_cast<uint32_t>(options.seed >> 32),
                       static_cast<uint32_t>(b)};
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    float* out = omega.middleRows(begin, rows).data();
    for (Eigen::Index i = 0; i < rows * omega.cols(); ++i) out[i] = normal(rng);
  });
  RowMatrixF q = Multiply(a, omega, pool);
  for (int it = 0; it < options.power_iterations; ++it) {
    Orthonormalize(&q, 1, pool);  // only the span matters here
    RowMatrixF z = Multiply(at, q, pool);
    Orthonormalize(&z, 1, pool);
    q = Multiply(a, z, pool);
  }
  Orthonormalize(&q, 2, pool);
  step("found the range (power iterations)");
  RowMatrixF bt = Multiply(at, q, pool);  // vocab x l  (= B^T, B = Q^T A)
  MatrixF btb = Gram(bt, pool);
  Eigen::SelfAdjointEigenSolver<MatrixF> eig(btb);  // reads the lower triangle
  // Eigenvalues ascend; take the k largest.
  MatrixF w = eig.eigenvectors().rightCols(k).rowwise().reverse();
  Eigen::VectorXf sigma2 = eig.eigenvalues().tail(k).reverse();
  model->dim_ = k;
  model->trained_on_ = n;
  model->term_vectors_.assign(vocab * static_cast<size_t>(k), 0.0f);
  // Right singular vectors V = B^T W Sigma^-1; term vector = V * Sigma^p,
  // written row block by row block straight into the model.
  Eigen::VectorXf scale(k);
  for (int c = 0; c < k; ++c) {
    float sigma = std::sqrt(std::max(sigma2(c), 1e-12f));
    scale(c) = std::pow(sigma, options.sigma_power) / sigma;
  }
  MatrixF w_scaled = w * scale.asDiagonal();
  Eigen::Map<RowMatrixF> term_vectors(model->term_vectors_.data(), static_cast<Eigen::Index>(vocab), k);
  ForRowBlocks(static_cast<Eigen::Index>(vocab), RowBlock(static_cast<Eigen::Index>(vocab)), pool, [&](size_t, Eigen::Index begin, Eigen::Index rows) {
    term_vectors.middleRows(begin, rows).noalias() = bt.middleRows(begin, rows) * w_scaled;
  });
  model->ComputeId();
  step("decomposed");
  return model;
}

void LsaEmbedder::ComputeId() {
  std::string_view bytes(reinterpret_cast<const char*>(term_vectors_.data()), term_vectors_.size() * sizeof(float));
  char buf[64];
  std::snprintf(buf, sizeof buf, "lsa-v1-d%d-%08x", dim_, Crc32(bytes) ^ static_cast<uint32_t>(terms_.size()));
  id_ = buf;
}

void LsaEmbedder::EmbedTerms(std::initializer_list<const std::vector<std::string>*> lists, float* out) const {
  std::memset(out, 0, sizeof(float) * static_cast<size_t>(dim_));
  // Term weights (1 + log tf) * idf, L2-normalised: the same as a row of the
  // training matrix. Frequencies come from sorting the term ids (no hash map
  // node per term; Embed runs on every chunk), which also walks the term
  // vectors in address order.
  thread_local std::vector<uint32_t> ids;
  thread_local std::vector<std::pair<uint32_t, float>> weights;
  ids.clear();
  weights.clear();
  for (const std::vector<std::string>* terms : lists) {
    for (const std::string& term : *terms) {
      auto it = term_ids_.find(term);
      if (it != term_ids_.end()) ids.push_back(it->second);
    }
  }
  std::sort(ids.begin(), ids.end());
  double weight_norm = 0;
  for (size_t i = 0; i < ids.size();) {
    size_t j = i;
    while (j < ids.size() && ids[j] == ids[i]) ++j;
    float w = (1.0f + std::log(static_cast<float>(j - i))) * idf_[ids[i]];
    weights.emplace_back(ids[i], w);
    weight_norm += double(w) * w;
    i = j;
  }
  if (weight_norm > 0) {
    float inv = static_cast<float>(1.0 / std::sqrt(weight_norm));
    for (auto& [id, w] : weights) w *= inv;
  }
  for (const auto& [id, w] : weights) {
    const float* tv = term_vectors_.data() + static_cast<size_t>(id) * dim_;
    for (int c = 0; c < dim_; ++c) out[c] += w * tv[c];
  }
  double norm = 0;
  for (int c = 0; c < dim_; ++c) norm += double(out[c]) * out[c];
  if (norm > 0) {
    float inv = static_cast<float>(1.0 / std::sqrt(norm));
    for (int c = 0; c < dim_; ++c) out[c] *= inv;
  }
}

Status LsaEmbedder::Embed(const std::vector<std::string>& texts, bool, float* out) const {
  std::vector<std::string> terms;
  for (size_t i = 0; i < texts.size(); ++i) {
    terms.clear();
    analyzer_.Analyze(texts[i], &terms);
    EmbedTerms({&terms}, out + i * static_cast<size_t>(dim_));
  }
  return Status::OK();
}

bool LsaEmbedder::EmbedAnalyzed(const std::vector<std::string>& title_terms,
                                const std::vector<std::string>& body_terms, float* out) const {
  EmbedTerms({&title_terms, &body_terms}, out);
  return true;
}

Status LsaEmbedder::Save(const std::string& path) const {
  BinaryWriter w;
  w.Put<int32_t>(dim_);
  w.Put<uint64_t>(trained_on_);
  w.Put<uint64_t>(terms_.size());
  for (const std::string& t : terms_) w.PutString(t);
  w.PutArray(idf_);
  w.PutArray(term_vectors_);
  SnapshotHeader header;
  header.version = kFormatVersion;
  header.settings = id_;
  return WriteSnapshot(path, header, w.buffer());
}

Result<std::unique_ptr<LsaEmbedder>> LsaEmbedder::Load(const std::string& path) {
  SnapshotHeader header;
  std::string payload;
  LATHE_RETURN_IF_ERROR(ReadSnapshot(path, &header, &payload));
  if (header.version != kFormatVersion) {
    return Corruption(path + ": LSA model format version " + std::to_string(header.version) + " is not " +
                      std::to_string(kFormatVersion));
  }
  std::unique_ptr<LsaEmbedder> model(new LsaEmbedder());
  BinaryReader r(payload);
  int32_t dim = 0;
  uint64_t count = 0;
  if (!r.Get(&dim) || !r.Get(&model->trained_on_) || !r.Get(&count) || dim <= 0 || count > payload.size()) return Corruption(path + ": truncated LSA model");
  model->dim_ = dim;
  for (uint64_t i = 0; i < count; ++i) {
    std::string t;
    if (!r.GetString(&t)) return Corruption(path + ": truncated LSA vocabulary");
    model->term_ids_.emplace(t, static_cast<uint32_t>(i));
    model->terms_.push_back(std::move(t));
  }
  if (!r.GetArray(&model->idf_) || !r.GetArray(&model->term_vectors_) || model->idf_.size() != count ||
      model->term_vectors_.size() != count * static_cast<uint64_t>(dim)) {
    return Corruption(path + ": LSA model arrays do not match its vocabulary");
  }
  model->ComputeId();
  if (model->id_ != header.settings) return Corruption(path + ": LSA model id does not match its contents");
  return model;
}

}  // namespace lathe::rag
