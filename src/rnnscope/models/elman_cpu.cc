// Elman forward and reverse passes for CPUs, as XLA FFI custom calls.
//
//   forward   h_t = tanh(x_t W_x^T + b + h_{t-1} W_h^T),   y_t = h_t W_y^T + b_y
//   reverse   delta_t = (g_t W_y + delta_{t+1} W_h) * (1 - h_t^2)
//             dW_h += delta_t^T h_{t-1},  dW_x += delta_t^T x_t,  db += sum_b delta_t,
//             dW_y += g_t^T h_t,  db_y += sum_b g_t,  dx_t = delta_t W_x,  dh_0 = delta_1 W_h
//
// The arithmetic of elman.fused_predict. Every buffer may carry leading
// (member) axes, all of the same shape; members are run one after another,
// each from its own slices, so a member's numbers do not depend on how many
// members share the call. Per time step the work is three (batch x hidden x
// hidden) products whose operands fit in L1; they are written as
// register-blocked rank-one updates over 16-lane vectors (GCC vector
// extensions, so the compiler picks the machine's widest vector unit).
// Hidden sizes must be multiples of 16; elman_cpu.padded_predict pads the others with inert units.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

typedef float v16 __attribute__((vector_size(64)));
typedef int32_t i16 __attribute__((vector_size(64)));
constexpr int kLanes = 16;
constexpr int kRows = 8;  // rows per register block: kRows x 2 accumulators of 16 lanes

inline v16 load(const float* p) {
  v16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline void store(float* p, v16 v) { std::memcpy(p, &v, sizeof v); }

inline v16 splat(float a) { return v16{} + a; }


// tanh as an odd rational function, p(x) / q(x) with x clamped to [-9, 9],
// where tanh(9) rounds to 1 in float32 (relative error below 1e-7).
[[gnu::always_inline]] inline v16 tanh16(v16 x) {
  const v16 hi = splat(9.f), lo = splat(-9.f);
  x = x > hi ? hi : x;
  x = x < lo ? lo : x;
  const v16 x2 = x * x;
  v16 p = splat(-2.76076847742355e-16f);
  p = p * x2 + 2.00018790482477e-13f;
  p = p * x2 - 8.60467152213735e-11f;
  p = p * x2 + 5.12229709037114e-08f;
  p = p * x2 + 1.48572235717979e-05f;
  p = p * x2 + 6.37261928875436e-04f;
  p = p * x2 + 4.89352455891786e-03f;
  v16 q = splat(1.19825839466702e-06f);
  q = q * x2 + 1.18534705686654e-04f;
  q = q * x2 + 2.26843463243900e-03f;
  q = q * x2 + 4.89352518554385e-03f;
  return x * p / q;
}

// acc[i][v] += sum_k A[i, k] Bm[k, 16 v : 16 v + 16] for R rows of A and NV vectors of Bm's
// columns. A[i, k] is at A[i * a_row + k * a_k], so A may be read transposed; Bm has row stride ldb.
template <int R, int NV>
[[gnu::always_inline]] inline void rank_one_updates(v16 (&acc)[R][NV], const float* A, int64_t a_row, int64_t a_k,
                                                    const float* Bm, int64_t ldb, int64_t K) {
  for (int64_t k = 0; k < K; ++k) {
    v16 row[NV];
    for (int v = 0; v < NV; ++v) row[v] = load(Bm + k * ldb + kLanes * v);
    for (int i = 0; i < R; ++i) {
      const float a = A[i * a_row + k * a_k];
      for (int v = 0; v < NV; ++v) acc[i][v] += a * row[v];
    }
  }
}

// One register block of C = A Bm: C starts from init(i, c) and ends in finish(i, c, value).
template <int R, int NV, typename Init, typename Finish>
[[gnu::always_inline]] inline void block_product(int64_t r0, int64_t c0, const float* A, int64_t a_row, int64_t a_k,
                                                 const float* Bm, int64_t cols, int64_t K, Init init, Finish finish) {
  v16 acc[R][NV];
  for (int i = 0; i < R; ++i)
    for (int v = 0; v < NV; ++v) acc[i][v] = init(r0 + i, c0 + kLanes * v);
  rank_one_updates<R, NV>(acc, A + r0 * a_row, a_row, a_k, Bm + c0, cols, K);
  for (int i = 0; i < R; ++i)
    for (int v = 0; v < NV; ++v) finish(r0 + i, c0 + kLanes * v, acc[i][v]);
}

// C[rows, cols] = init + A[rows, K] Bm[K, cols], Bm row-major with row stride `cols` (a multiple of 16).
template <typename Init, typename Finish>
void product(int64_t rows, int64_t cols, const float* A, int64_t a_row, int64_t a_k, const float* Bm, int64_t K,
             Init init, Finish finish) {
  int64_t r = 0;
  for (; r + kRows <= rows; r += kRows) {
    int64_t c = 0;
    for (; c + 2 * kLanes <= cols; c += 2 * kLanes) block_product<kRows, 2>(r, c, A, a_row, a_k, Bm, cols, K, init, finish);
    for (; c < cols; c += kLanes) block_product<kRows, 1>(r, c, A, a_row, a_k, Bm, cols, K, init, finish);
  }
  for (; r < rows; ++r) {
    int64_t c = 0;
    for (; c + 2 * kLanes <= cols; c += 2 * kLanes) block_product<1, 2>(r, c, A, a_row, a_k, Bm, cols, K, init, finish);
    for (; c < cols; c += kLanes) block_product<1, 1>(r, c, A, a_row, a_k, Bm, cols, K, init, finish);
  }
}

// Lane i of the result is the sum of the lanes of s[i]: a tree of pairwise folds,
// 15 two-vector shuffles and adds for 16 sums instead of 16 serial reductions.
template <int Half>
[[gnu::always_inline]] inline v16 fold(v16 a, v16 b) {
  // keeps, from a then b, the first Half lanes of every 2 * Half, and adds the other Half lanes to them
  i16 lo, hi;
  for (int i = 0; i < kLanes; ++i) {
    const int group = i / Half, lane = i % Half, source = 2 * Half * group + lane;
    lo[i] = source;
    hi[i] = source + Half;
  }
  return __builtin_shuffle(a, b, lo) + __builtin_shuffle(a, b, hi);
}

[[gnu::always_inline]] inline v16 lane_sums(const v16 (&s)[kLanes]) {
  v16 eights[8], fours[4], twos[2];
  for (int i = 0; i < 8; ++i) eights[i] = fold<8>(s[2 * i], s[2 * i + 1]);
  for (int i = 0; i < 4; ++i) fours[i] = fold<4>(eights[2 * i], eights[2 * i + 1]);
  for (int i = 0; i < 2; ++i) twos[i] = fold<2>(fours[2 * i], fours[2 * i + 1]);
  return fold<1>(twos[0], twos[1]);
}

// out[r * stride] = offset + sum_c a[r, c] w[c] for r < rows, a with row stride H, 16 rows at a time.
void row_dots(int64_t rows, int64_t H, const float* a, const float* w, float offset, float* out, int64_t stride) {
  for (int64_t r0 = 0; r0 < rows; r0 += kLanes) {
    const int64_t n = std::min<int64_t>(kLanes, rows - r0);
    v16 s[kLanes];
    for (int i = 0; i < kLanes; ++i) {
      s[i] = v16{};
      if (i < n)
        for (int64_t c = 0; c < H; c += kLanes) s[i] += load(a + (r0 + i) * H + c) * load(w + c);
    }
    const v16 sums = lane_sums(s);
    for (int i = 0; i < n; ++i) out[(r0 + i) * stride] = offset + sums[i];
  }
}

// acc(c) = sum_r coef[r * stride] a[r, c : c + 16] (or sum_r a[r, c : c + 16] without coef),
// in four interleaved partial sums so that the additions do not wait on each other.
inline v16 weighted_column_sum(int64_t rows, int64_t H, const float* a, int64_t c, const float* coef, int64_t stride) {
  v16 part[4] = {};
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4)
    for (int i = 0; i < 4; ++i) part[i] += (coef ? coef[(r + i) * stride] : 1.f) * load(a + (r + i) * H + c);
  for (; r < rows; ++r) part[0] += (coef ? coef[r * stride] : 1.f) * load(a + r * H + c);
  return (part[0] + part[1]) + (part[2] + part[3]);
}

void transpose(const float* a, int64_t rows, int64_t cols, float* out) {
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) out[j * rows + i] = a[i * cols + j];
}

struct Sizes {
  int64_t T, B, H, D, O;
};

template <int HC>  // HC: the hidden size known at compile time (0: taken from s)
void forward_member(const Sizes& s, const float* W_h, const float* W_x, const float* b, const float* W_y, const float* b_y,
                    const float* h0, const float* xs, float* hs, float* ys, std::vector<float>& scratch) {
  const int64_t T = s.T, B = s.B, H = HC ? HC : s.H, D = s.D, O = s.O;
  scratch.resize(H * H + D * H);
  float* W_hT = scratch.data();
  float* W_xT = W_hT + H * H;
  transpose(W_h, H, H, W_hT);
  transpose(W_x, H, D, W_xT);
  const float* h_prev = h0;
  for (int64_t t = 0; t < T; ++t) {
    const float* x = xs + t * B * D;
    float* h = hs + t * B * H;
    auto input = [&](int64_t r, int64_t c) {
      v16 a = load(b + c);
      for (int64_t d = 0; d < D; ++d) a += x[r * D + d] * load(W_xT + d * H + c);
      return a;
    };
    auto keep = [&](int64_t r, int64_t c, v16 a) { store(h + r * H + c, a); };
    product(B, H, h_prev, H, 1, W_hT, H, input, keep);
    // tanh in its own pass: its long dependency chains then overlap across vectors
#pragma GCC unroll 4
    for (int64_t e = 0; e < B * H; e += kLanes) store(h + e, tanh16(load(h + e)));
    for (int64_t o = 0; o < O; ++o) row_dots(B, H, h, W_y + o * H, b_y[o], ys + t * B * O + o, O);
    h_prev = h;
  }
}

struct Grads {
  float *W_h, *W_x, *b, *W_y, *b_y, *h0, *xs;
};

template <int HC>
void backward_member(const Sizes& s, const float* W_h, const float* W_x, const float* W_y, const float* h0, const float* xs,
                     const float* hs, const float* g_ys, const Grads& g, std::vector<float>& scratch) {
  const int64_t T = s.T, B = s.B, H = HC ? HC : s.H, D = s.D, O = s.O;
  scratch.assign(3 * B * H + 2 * D * H, 0.f);
  float* g_next = scratch.data();  // (B, H): delta_{t+1} W_h
  float* g_new = g_next + B * H;   // (B, H)
  float* delta = g_new + B * H;    // (B, H)
  float* W_xT = delta + B * H;     // (D, H)
  float* dW_xT = W_xT + D * H;     // (D, H)
  transpose(W_x, H, D, W_xT);
  std::fill(g.W_h, g.W_h + H * H, 0.f);
  std::fill(g.b, g.b + H, 0.f);
  std::fill(g.W_y, g.W_y + O * H, 0.f);
  std::fill(g.b_y, g.b_y + O, 0.f);
  for (int64_t t = T - 1; t >= 0; --t) {
    const float* h = hs + t * B * H;
    const float* h_prev = t > 0 ? hs + (t - 1) * B * H : h0;
    const float* x = xs + t * B * D;
    const float* g_y = g_ys + t * B * O;
    for (int64_t r = 0; r < B; ++r) {
      for (int64_t o = 0; o < O; ++o) g.b_y[o] += g_y[r * O + o];
      for (int64_t c = 0; c < H; c += kLanes) {
        const v16 hv = load(h + r * H + c);
        v16 gh = load(g_next + r * H + c);
        for (int64_t o = 0; o < O; ++o) gh += g_y[r * O + o] * load(W_y + o * H + c);
        store(delta + r * H + c, gh * (1.f - hv * hv));
      }
    }
    for (int64_t c = 0; c < H; c += kLanes) {
      store(g.b + c, load(g.b + c) + weighted_column_sum(B, H, delta, c, nullptr, 0));
      for (int64_t o = 0; o < O; ++o)
        store(g.W_y + o * H + c, load(g.W_y + o * H + c) + weighted_column_sum(B, H, h, c, g_y + o, O));
      for (int64_t k = 0; k < D; ++k)
        store(dW_xT + k * H + c, load(dW_xT + k * H + c) + weighted_column_sum(B, H, delta, c, x + k, D));
    }
    for (int64_t k = 0; k < D; ++k) row_dots(B, H, delta, W_xT + k * H, 0.f, g.xs + t * B * D + k, D);
    auto zero = [](int64_t, int64_t) { return v16{}; };
    auto keep_g = [&](int64_t r, int64_t c, v16 a) { store(g_new + r * H + c, a); };
    product(B, H, delta, H, 1, W_h, H, zero, keep_g);
    std::swap(g_next, g_new);
    // dW_h += delta^T h_prev: delta read transposed (row j of the product is column j of delta)
    auto from_dW_h = [&](int64_t r, int64_t c) { return load(g.W_h + r * H + c); };
    auto to_dW_h = [&](int64_t r, int64_t c, v16 a) { store(g.W_h + r * H + c, a); };
    product(H, H, delta, 1, H, h_prev, B, from_dW_h, to_dW_h);
  }
  std::memcpy(g.h0, g_next, sizeof(float) * B * H);
  transpose(dW_xT, D, H, g.W_x);
}

// Hidden sizes compiled with their loops' trip counts known (the products then unroll fully).
template <template <int> class Pass>
auto for_hidden(int64_t H) {
  switch (H) {
    case 16: return Pass<16>::run;
    case 32: return Pass<32>::run;
    case 64: return Pass<64>::run;
    case 128: return Pass<128>::run;
    default: return Pass<0>::run;
  }
}

template <int HC>
struct Forward {
  static constexpr auto run = forward_member<HC>;
};

template <int HC>
struct Backward {
  static constexpr auto run = backward_member<HC>;
};

template <typename Dims>
int64_t count(const Dims& dims, size_t trailing) {
  int64_t n = 1;
  for (size_t i = 0; i + trailing < dims.size(); ++i) n *= dims[i];
  return n;
}

ffi::Error sizes_of(ffi::Buffer<ffi::F32> h0, ffi::Buffer<ffi::F32> xs, ffi::Buffer<ffi::F32> W_y, Sizes& s, int64_t& members) {
  auto hd = h0.dimensions(), xd = xs.dimensions(), yd = W_y.dimensions();
  if (hd.size() < 2 || xd.size() < 3 || yd.size() < 2) return ffi::Error::InvalidArgument("elman_cpu: bad ranks");
  s = {xd[xd.size() - 3], hd[hd.size() - 2], hd[hd.size() - 1], xd[xd.size() - 1], yd[yd.size() - 2]};
  members = count(hd, 2);
  if (s.H % kLanes != 0) return ffi::Error::InvalidArgument("elman_cpu: hidden size must be a multiple of 16");
  if (count(xd, 3) != members || count(yd, 2) != members)
    return ffi::Error::InvalidArgument("elman_cpu: operands disagree on their member axes");
  return ffi::Error::Success();
}

ffi::Error forward_impl(ffi::Buffer<ffi::F32> W_h, ffi::Buffer<ffi::F32> W_x, ffi::Buffer<ffi::F32> b, ffi::Buffer<ffi::F32> W_y,
                        ffi::Buffer<ffi::F32> b_y, ffi::Buffer<ffi::F32> h0, ffi::Buffer<ffi::F32> xs,
                        ffi::ResultBuffer<ffi::F32> hs, ffi::ResultBuffer<ffi::F32> ys) {
  Sizes s;
  int64_t members;
  if (auto err = sizes_of(h0, xs, W_y, s, members); err.failure()) return err;
  std::vector<float> scratch;
  const auto forward_member = for_hidden<Forward>(s.H);
  for (int64_t m = 0; m < members; ++m)
    forward_member(s, W_h.typed_data() + m * s.H * s.H, W_x.typed_data() + m * s.H * s.D, b.typed_data() + m * s.H,
                   W_y.typed_data() + m * s.O * s.H, b_y.typed_data() + m * s.O, h0.typed_data() + m * s.B * s.H,
                   xs.typed_data() + m * s.T * s.B * s.D, hs->typed_data() + m * s.T * s.B * s.H,
                   ys->typed_data() + m * s.T * s.B * s.O, scratch);
  return ffi::Error::Success();
}

ffi::Error backward_impl(ffi::Buffer<ffi::F32> W_h, ffi::Buffer<ffi::F32> W_x, ffi::Buffer<ffi::F32> W_y, ffi::Buffer<ffi::F32> h0,
                         ffi::Buffer<ffi::F32> xs, ffi::Buffer<ffi::F32> hs, ffi::Buffer<ffi::F32> g_ys,
                         ffi::ResultBuffer<ffi::F32> dW_h, ffi::ResultBuffer<ffi::F32> dW_x, ffi::ResultBuffer<ffi::F32> db,
                         ffi::ResultBuffer<ffi::F32> dW_y, ffi::ResultBuffer<ffi::F32> db_y, ffi::ResultBuffer<ffi::F32> g_h0,
                         ffi::ResultBuffer<ffi::F32> g_xs) {
  Sizes s;
  int64_t members;
  if (auto err = sizes_of(h0, xs, W_y, s, members); err.failure()) return err;
  std::vector<float> scratch;
  const int64_t T = s.T, B = s.B, H = s.H, D = s.D, O = s.O;
  const auto backward_member = for_hidden<Backward>(s.H);
  for (int64_t m = 0; m < members; ++m) {
    Grads g{dW_h->typed_data() + m * H * H, dW_x->typed_data() + m * H * D, db->typed_data() + m * H,
            dW_y->typed_data() + m * O * H, db_y->typed_data() + m * O, g_h0->typed_data() + m * B * H,
            g_xs->typed_data() + m * T * B * D};
    backward_member(s, W_h.typed_data() + m * H * H, W_x.typed_data() + m * H * D, W_y.typed_data() + m * O * H,
                    h0.typed_data() + m * B * H, xs.typed_data() + m * T * B * D, hs.typed_data() + m * T * B * H,
                    g_ys.typed_data() + m * T * B * O, g, scratch);
  }
  return ffi::Error::Success();
}

}  // namespace

using F32 = ffi::Buffer<ffi::F32>;
using F32Out = ffi::ResultBuffer<ffi::F32>;

XLA_FFI_DEFINE_HANDLER_SYMBOL(RnnscopeElmanForward, forward_impl,
                              ffi::Ffi::Bind()
                                  .Arg<F32>().Arg<F32>().Arg<F32>().Arg<F32>().Arg<F32>().Arg<F32>().Arg<F32>()
                                  .Ret<F32>().Ret<F32>());

XLA_FFI_DEFINE_HANDLER_SYMBOL(RnnscopeElmanBackward, backward_impl,
                              ffi::Ffi::Bind()
                                  .Arg<F32>().Arg<F32>().Arg<F32>().Arg<F32>().Arg<F32>().Arg<F32>().Arg<F32>()
                                  .Ret<F32>().Ret<F32>().Ret<F32>().Ret<F32>().Ret<F32>().Ret<F32>().Ret<F32>());
