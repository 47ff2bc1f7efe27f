// ulearn's native kernels: oneDNN primitives run in place on tfjs-backend-wasm's heap.
//
// Every entry point takes a Float32Array view over the wasm heap (a fresh one per call: the heap grows and old
// views detach) and an Int32Array of parameters whose tail holds the element offsets of the tensors in that heap.
// Nothing is copied: oneDNN reads and writes the tensors where tfjs keeps them. Primitives (and the reorders of
// weights into the blocked layout oneDNN picks) are built once per shape and kept, as building one costs far
// more than running it on our sizes.
//
// A oneDNN failure is thrown as a JS Error carrying `status` (oneDNN's status code); the TypeScript side turns it
// into a UlearnError. Nothing here aborts the process.
#include <napi.h>
#include <omp.h>

#include <dnnl.hpp>
#include <cmath>
#include <map>
#include <memory>
#include <string>
#include <vector>

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;
using dims = memory::dims;

namespace {

engine& eng() {
  static engine e(engine::kind::cpu, 0);
  return e;
}
stream& strm() {
  static stream s(eng());
  return s;
}

struct Heap {
  float* base;
  size_t length;  // in floats
};

Heap heapOf(const Napi::Value& v) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(v.Env(), "ulearn_native: expected a Float32Array view over the wasm heap");
  }
  auto a = v.As<Napi::Float32Array>();
  return {a.Data(), a.ElementLength()};
}

std::vector<int64_t> paramsOf(const Napi::Value& v) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw Napi::TypeError::New(v.Env(), "ulearn_native: expected an Int32Array of parameters");
  }
  auto a = v.As<Napi::Int32Array>();
  return std::vector<int64_t>(a.Data(), a.Data() + a.ElementLength());
}

// A pointer into the heap for `count` floats at element offset `off`; refuses anything outside it.
float* at(const Heap& h, int64_t off, int64_t count, Napi::Env env) {
  if (off < 0 || count < 0 || static_cast<uint64_t>(off + count) > h.length) {
    throw Napi::RangeError::New(env, "ulearn_native: tensor lies outside the wasm heap");
  }
  return h.base + off;
}

memory::desc strided(const dims& d, const dims& s) { return memory::desc(d, dt::f32, s); }

// ---------------------------------------------------------------------------------------------------------
// Convolution (groups = 1: Conv2D; groups = C: depthwise). Activations NHWC; filters as tfjs keeps them:
// [kH, kW, Cin, Cout] (standard) or [kH, kW, C, multiplier] (depthwise).
// params: kind, N, H, W, IC, OH, OW, OC, kH, kW, sH, sW, dH, dW, pT, pL, pB, pR, groups, bias, relu, off0, off1,
// off2, off3. kind 0 forward (x, w, b, y), 1 backward data (dy, w, -, dx), 2 backward weights (x, dy, -, dw).
struct ConvPlan {
  memory::desc src, dst, userW;
  // forward
  convolution_forward::primitive_desc fpd;
  convolution_forward fwd;
  // backward data / weights
  convolution_backward_data::primitive_desc dpd;
  convolution_backward_data bwdd;
  convolution_backward_weights::primitive_desc wpd;
  convolution_backward_weights bwdw;
  memory w;  // weights in the primitive's layout
  reorder toPrim, fromPrim;
  bool needReorder = false;
};

std::map<std::vector<int64_t>, std::unique_ptr<ConvPlan>> convPlans;

memory::desc userWeights(int64_t G, int64_t IC, int64_t OC, int64_t kH, int64_t kW) {
  if (G == 1) {
    // hwio: [kH, kW, I, O]
    return strided({OC, IC, kH, kW}, {1, OC, kW * IC * OC, IC * OC});
  }
  // depthwise [kH, kW, C, M] as goihw with g = C, o = M, i = 1
  const int64_t M = OC / G;
  return strided({G, M, 1, kH, kW}, {M, 1, 1, kW * G * M, G * M});
}

ConvPlan& convPlan(const std::vector<int64_t>& p) {
  std::vector<int64_t> key(p.begin(), p.begin() + 21);
  auto it = convPlans.find(key);
  if (it != convPlans.end()) return *it->second;
  const int64_t kind = p[0], N = p[1], H = p[2], W = p[3], IC = p[4], OH = p[5], OW = p[6], OC = p[7], kH = p[8],
                kW = p[9], sH = p[10], sW = p[11], dH = p[12], dW = p[13], pT = p[14], pL = p[15], pB = p[16],
                pR = p[17], G = p[18], hasBias = p[19], relu = p[20];
  auto plan = std::make_unique<ConvPlan>();
  plan->src = memory::desc({N, IC, H, W}, dt::f32, tag::nhwc);
  plan->dst = memory::desc({N, OC, OH, OW}, dt::f32, tag::nhwc);
  plan->userW = userWeights(G, IC, OC, kH, kW);
  memory::desc anyW = G == 1 ? memory::desc({OC, IC, kH, kW}, dt::f32, tag::any)
                             : memory::desc({G, OC / G, IC / G, kH, kW}, dt::f32, tag::any);
  memory::desc biasD({OC}, dt::f32, tag::x);
  dims strides{sH, sW}, dil{dH - 1, dW - 1}, padL{pT, pL}, padR{pB, pR};
  primitive_attr attr;
  if (relu) {
    post_ops ops;
    ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(ops);
  }
  auto fdesc = hasBias ? convolution_forward::desc(kind == 0 ? prop_kind::forward_inference : prop_kind::forward_training,
                                                   algorithm::convolution_direct, plan->src, anyW, biasD, plan->dst,
                                                   strides, dil, padL, padR)
                       : convolution_forward::desc(kind == 0 ? prop_kind::forward_inference : prop_kind::forward_training,
                                                   algorithm::convolution_direct, plan->src, anyW, plan->dst, strides,
                                                   dil, padL, padR);
  plan->fpd = convolution_forward::primitive_desc(fdesc, attr, eng());
  memory::desc primW;
  if (kind == 0) {
    plan->fwd = convolution_forward(plan->fpd);
    primW = plan->fpd.weights_desc();
  } else if (kind == 1) {
    convolution_backward_data::desc d(algorithm::convolution_direct, plan->src, anyW, plan->dst, strides, dil, padL, padR);
    plan->dpd = convolution_backward_data::primitive_desc(d, eng(), plan->fpd);
    plan->bwdd = convolution_backward_data(plan->dpd);
    primW = plan->dpd.weights_desc();
  } else {
    convolution_backward_weights::desc d(algorithm::convolution_direct, plan->src, anyW, plan->dst, strides, dil, padL,
                                         padR);
    plan->wpd = convolution_backward_weights::primitive_desc(d, eng(), plan->fpd);
    // oneDNN 2.6's jit_1x1 backward-weights kernel corrupts the C heap when the channels are not a multiple of its
    // 16-wide block (seen: mb5 ic8 oc8, 1x1 stride 2, 2 threads: glibc "free(): invalid size" a step later);
    // the next implementation (the generic jit kernel, which pads the same way) computes the same gradient.
    if (IC % 16 != 0 || OC % 16 != 0) {
      while (std::string(plan->wpd.impl_info_str()).rfind("jit_1x1", 0) == 0 && plan->wpd.next_impl()) {
      }
    }
    plan->bwdw = convolution_backward_weights(plan->wpd);
    primW = plan->wpd.diff_weights_desc();
  }
  plan->needReorder = primW != plan->userW;
  if (plan->needReorder) {
    plan->w = memory(primW, eng());
    memory userMem(plan->userW, eng(), DNNL_MEMORY_NONE);
    if (kind == 2) {
      plan->fromPrim = reorder(plan->w, userMem);
    } else {
      plan->toPrim = reorder(userMem, plan->w);
    }
  }
  auto& ref = *plan;
  convPlans.emplace(std::move(key), std::move(plan));
  return ref;
}

int64_t weightCount(const std::vector<int64_t>& p) { return p[8] * p[9] * p[4] * p[7] / p[18]; }

void conv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Heap h = heapOf(info[0]);
  auto p = paramsOf(info[1]);
  if (p.size() != 25) throw Napi::TypeError::New(env, "ulearn_native.conv: expected 25 parameters");
  const int64_t kind = p[0], N = p[1], H = p[2], W = p[3], IC = p[4], OH = p[5], OW = p[6], OC = p[7];
  const int64_t xCount = N * H * W * IC, yCount = N * OH * OW * OC, wCount = weightCount(p);
  ConvPlan& plan = convPlan(p);
  stream& s = strm();
  auto user = [&](const memory::desc& d, float* ptr) { return memory(d, eng(), ptr); };
  if (kind == 0) {
    memory x = user(plan.src, at(h, p[21], xCount, env));
    memory wu = user(plan.userW, at(h, p[22], wCount, env));
    memory y = user(plan.dst, at(h, p[24], yCount, env));
    memory w = wu;
    if (plan.needReorder) {
      plan.toPrim.execute(s, wu, plan.w);
      w = plan.w;
    }
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, y}};
    if (p[19]) args.emplace(DNNL_ARG_BIAS, user(memory::desc({OC}, dt::f32, tag::x), at(h, p[23], OC, env)));
    plan.fwd.execute(s, args);
  } else if (kind == 1) {
    memory dy = user(plan.dst, at(h, p[21], yCount, env));
    memory wu = user(plan.userW, at(h, p[22], wCount, env));
    memory dx = user(plan.src, at(h, p[24], xCount, env));
    memory w = wu;
    if (plan.needReorder) {
      plan.toPrim.execute(s, wu, plan.w);
      w = plan.w;
    }
    plan.bwdd.execute(s, {{DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DIFF_SRC, dx}});
  } else {
    memory x = user(plan.src, at(h, p[21], xCount, env));
    memory dy = user(plan.dst, at(h, p[22], yCount, env));
    memory dwu = user(plan.userW, at(h, p[24], wCount, env));
    memory dw = plan.needReorder ? plan.w : dwu;
    plan.bwdw.execute(s, {{DNNL_ARG_SRC, x}, {DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_WEIGHTS, dw}});
    if (plan.needReorder) plan.fromPrim.execute(s, plan.w, dwu);
  }
  s.wait();
}

// ---------------------------------------------------------------------------------------------------------
// MatMul: C[b] = op(A[b]) @ op(B[b]) (+ bias[N]) (relu). A batch of 1 broadcasts.
// params: Ba, Bb, M, K, N, transA, transB, bias, relu, offA, offB, offBias, offC.
struct MatmulPlan {
  memory::desc a, b, bias, c;
  matmul prim;
};
std::map<std::vector<int64_t>, std::unique_ptr<MatmulPlan>> matmulPlans;

void matmulOp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Heap h = heapOf(info[0]);
  auto p = paramsOf(info[1]);
  if (p.size() != 13) throw Napi::TypeError::New(env, "ulearn_native.matmul: expected 13 parameters");
  const int64_t Ba = p[0], Bb = p[1], M = p[2], K = p[3], N = p[4], tA = p[5], tB = p[6], hasBias = p[7];
  const int64_t B = std::max(Ba, Bb);
  std::vector<int64_t> key(p.begin(), p.begin() + 9);
  auto it = matmulPlans.find(key);
  MatmulPlan* plan;
  if (it == matmulPlans.end()) {
    auto np = std::make_unique<MatmulPlan>();
    np->a = tA ? strided({Ba, M, K}, {M * K, 1, M}) : strided({Ba, M, K}, {M * K, K, 1});
    np->b = tB ? strided({Bb, K, N}, {K * N, 1, K}) : strided({Bb, K, N}, {K * N, N, 1});
    np->c = strided({B, M, N}, {M * N, N, 1});
    np->bias = strided({1, 1, N}, {N, N, 1});
    primitive_attr attr;
    if (p[8]) {
      post_ops ops;
      ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
      attr.set_post_ops(ops);
    }
    auto d = hasBias ? matmul::desc(np->a, np->b, np->bias, np->c) : matmul::desc(np->a, np->b, np->c);
    np->prim = matmul(matmul::primitive_desc(d, attr, eng()));
    plan = np.get();
    matmulPlans.emplace(std::move(key), std::move(np));
  } else {
    plan = it->second.get();
  }
  stream& s = strm();
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, memory(plan->a, eng(), at(h, p[9], Ba * M * K, env))},
      {DNNL_ARG_WEIGHTS, memory(plan->b, eng(), at(h, p[10], Bb * K * N, env))},
      {DNNL_ARG_DST, memory(plan->c, eng(), at(h, p[12], B * M * N, env))}};
  if (hasBias) args.emplace(DNNL_ARG_BIAS, memory(plan->bias, eng(), at(h, p[11], N, env)));
  plan->prim.execute(s, args);
  s.wait();
}

// ---------------------------------------------------------------------------------------------------------
// Batch normalization over all axes but the last (x viewed as [M, C]), training statistics.
// bnForward params: N, M, C, offX, offGamma, offBeta, offY, offMean, offVar; epsilon as a number.
// bnBackward params: N, M, C, offX, offMean, offVar, offGamma, offDy, offDx, offDgamma, offDbeta; epsilon.
// N (x's first dimension, dividing M) lets oneDNN split the work over the batch.
struct BnPlan {
  batch_normalization_forward fwd;
  batch_normalization_backward bwd;
  memory::desc data, stat;
};
std::map<std::vector<int64_t>, std::unique_ptr<BnPlan>> bnPlans;
const auto bnFlags = normalization_flags::use_scale | normalization_flags::use_shift;

BnPlan& bnPlan(int64_t kind, int64_t N, int64_t M, int64_t C, float eps) {
  std::vector<int64_t> key{kind, N, M, C, static_cast<int64_t>(std::llround(static_cast<double>(eps) * 1e12))};
  auto it = bnPlans.find(key);
  if (it != bnPlans.end()) return *it->second;
  auto plan = std::make_unique<BnPlan>();
  // [M, C] as a 4D NHWC tensor {N, C, M/N, 1} (same bytes): oneDNN's jit batch norm handles nhwc, while a 2D nc
  // tensor gets its reference implementation (measured ~20x slower on 128x28x28x16).
  plan->data = memory::desc({N, C, M / N, 1}, dt::f32, tag::nhwc);
  plan->stat = memory::desc({C}, dt::f32, tag::x);
  batch_normalization_forward::desc fd(prop_kind::forward_training, plan->data, eps, bnFlags);
  batch_normalization_forward::primitive_desc fpd(fd, eng());
  if (kind == 0) {
    plan->fwd = batch_normalization_forward(fpd);
  } else {
    batch_normalization_backward::desc bd(prop_kind::backward, plan->data, plan->data, eps, bnFlags);
    plan->bwd = batch_normalization_backward(batch_normalization_backward::primitive_desc(bd, eng(), fpd));
  }
  auto& ref = *plan;
  bnPlans.emplace(std::move(key), std::move(plan));
  return ref;
}

void bnForward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Heap h = heapOf(info[0]);
  auto p = paramsOf(info[1]);
  if (p.size() != 9 || p[0] < 1 || p[1] % p[0] != 0) throw Napi::TypeError::New(env, "ulearn_native.bnForward: expected 9 parameters");
  const float eps = info[2].As<Napi::Number>().FloatValue();
  const int64_t N = p[0], M = p[1], C = p[2];
  p.erase(p.begin());
  BnPlan& plan = bnPlan(0, N, M, C, eps);
  auto m = [&](const memory::desc& d, int64_t off, int64_t n) { return memory(d, eng(), at(h, off, n, env)); };
  plan.fwd.execute(strm(), {{DNNL_ARG_SRC, m(plan.data, p[2], M * C)},
                            {DNNL_ARG_SCALE, m(plan.stat, p[3], C)},
                            {DNNL_ARG_SHIFT, m(plan.stat, p[4], C)},
                            {DNNL_ARG_DST, m(plan.data, p[5], M * C)},
                            {DNNL_ARG_MEAN, m(plan.stat, p[6], C)},
                            {DNNL_ARG_VARIANCE, m(plan.stat, p[7], C)}});
  strm().wait();
}

void bnBackward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Heap h = heapOf(info[0]);
  auto p = paramsOf(info[1]);
  if (p.size() != 11 || p[0] < 1 || p[1] % p[0] != 0) throw Napi::TypeError::New(env, "ulearn_native.bnBackward: expected 11 parameters");
  const float eps = info[2].As<Napi::Number>().FloatValue();
  const int64_t N = p[0], M = p[1], C = p[2];
  p.erase(p.begin());
  BnPlan& plan = bnPlan(1, N, M, C, eps);
  auto m = [&](const memory::desc& d, int64_t off, int64_t n) { return memory(d, eng(), at(h, off, n, env)); };
  plan.bwd.execute(strm(), {{DNNL_ARG_SRC, m(plan.data, p[2], M * C)},
                            {DNNL_ARG_MEAN, m(plan.stat, p[3], C)},
                            {DNNL_ARG_VARIANCE, m(plan.stat, p[4], C)},
                            {DNNL_ARG_SCALE, m(plan.stat, p[5], C)},
                            // With use_shift oneDNN asks for the shift too, though the gradients do not depend on it.
                            {DNNL_ARG_SHIFT, m(plan.stat, p[5], C)},
                            {DNNL_ARG_DIFF_DST, m(plan.data, p[6], M * C)},
                            {DNNL_ARG_DIFF_SRC, m(plan.data, p[7], M * C)},
                            {DNNL_ARG_DIFF_SCALE, m(plan.stat, p[8], C)},
                            {DNNL_ARG_DIFF_SHIFT, m(plan.stat, p[9], C)}});
  strm().wait();
}

// ---------------------------------------------------------------------------------------------------------
// Pooling, NHWC. params: kind (0 max fwd, 1 avg fwd, 2 max bwd, 3 avg bwd), N, H, W, C, OH, OW, kH, kW, sH, sW,
// pT, pL, pB, pR, off0, off1 (fwd: x, y; bwd: x, dy, and off2 = dx). Average pooling excludes padding, as tfjs
// does. The max-pool backward reruns the forward pass to get oneDNN's workspace (tfjs' gradient has only x).
struct PoolPlan {
  memory::desc src, dst;
  pooling_forward fwd;
  pooling_backward bwd;
  memory ws, scratchDst;
};
std::map<std::vector<int64_t>, std::unique_ptr<PoolPlan>> poolPlans;

void pool(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Heap h = heapOf(info[0]);
  auto p = paramsOf(info[1]);
  if (p.size() != 18) throw Napi::TypeError::New(env, "ulearn_native.pool: expected 18 parameters");
  const int64_t kind = p[0], N = p[1], H = p[2], W = p[3], C = p[4], OH = p[5], OW = p[6];
  std::vector<int64_t> key(p.begin(), p.begin() + 15);
  auto it = poolPlans.find(key);
  PoolPlan* plan;
  const bool isMax = kind == 0 || kind == 2;
  if (it == poolPlans.end()) {
    auto np = std::make_unique<PoolPlan>();
    np->src = memory::desc({N, C, H, W}, dt::f32, tag::nhwc);
    np->dst = memory::desc({N, C, OH, OW}, dt::f32, tag::nhwc);
    const algorithm alg = isMax ? algorithm::pooling_max : algorithm::pooling_avg_exclude_padding;
    dims strides{p[9], p[10]}, kernel{p[7], p[8]}, padL{p[11], p[12]}, padR{p[13], p[14]};
    pooling_forward::desc fd(kind < 2 ? prop_kind::forward_inference : prop_kind::forward_training, alg, np->src,
                             np->dst, strides, kernel, padL, padR);
    pooling_forward::primitive_desc fpd(fd, eng());
    if (kind < 2) {
      np->fwd = pooling_forward(fpd);
    } else {
      pooling_backward::desc bd(alg, np->src, np->dst, strides, kernel, padL, padR);
      np->bwd = pooling_backward(pooling_backward::primitive_desc(bd, eng(), fpd));
      if (isMax) {
        np->fwd = pooling_forward(fpd);
        np->ws = memory(fpd.workspace_desc(), eng());
        np->scratchDst = memory(np->dst, eng());
      }
    }
    plan = np.get();
    poolPlans.emplace(std::move(key), std::move(np));
  } else {
    plan = it->second.get();
  }
  const int64_t xCount = N * H * W * C, yCount = N * OH * OW * C;
  stream& s = strm();
  memory x(plan->src, eng(), at(h, p[15], xCount, env));
  if (kind < 2) {
    plan->fwd.execute(s, {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, memory(plan->dst, eng(), at(h, p[16], yCount, env))}});
  } else {
    memory dy(plan->dst, eng(), at(h, p[16], yCount, env));
    memory dx(plan->src, eng(), at(h, p[17], xCount, env));
    if (isMax) {
      plan->fwd.execute(s, {{DNNL_ARG_SRC, x}, {DNNL_ARG_DST, plan->scratchDst}, {DNNL_ARG_WORKSPACE, plan->ws}});
      plan->bwd.execute(s, {{DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_SRC, dx}, {DNNL_ARG_WORKSPACE, plan->ws}});
    } else {
      plan->bwd.execute(s, {{DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_SRC, dx}});
    }
  }
  s.wait();
}

// ---------------------------------------------------------------------------------------------------------
// Adam over many variables in one call, in place: for each variable i, params hold (size, offVar, offM, offV,
// offGrad). Scalars: lr, beta1, beta2, epsilon, and the bias corrections 1 - beta1^t, 1 - beta2^t.
void adam(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Heap h = heapOf(info[0]);
  auto p = paramsOf(info[1]);
  if (p.size() % 5 != 0) throw Napi::TypeError::New(env, "ulearn_native.adam: expected 5 parameters per variable");
  const float lr = info[2].As<Napi::Number>().FloatValue(), b1 = info[3].As<Napi::Number>().FloatValue(),
              b2 = info[4].As<Napi::Number>().FloatValue(), eps = info[5].As<Napi::Number>().FloatValue(),
              c1 = info[6].As<Napi::Number>().FloatValue(), c2 = info[7].As<Napi::Number>().FloatValue();
  for (size_t i = 0; i < p.size(); i += 5) {
    const int64_t n = p[i];
    float* w = at(h, p[i + 1], n, env);
    float* m = at(h, p[i + 2], n, env);
    float* v = at(h, p[i + 3], n, env);
    const float* g = at(h, p[i + 4], n, env);
    const float step = lr / c1;
    const float rc2 = 1.f / c2;
#pragma omp parallel for simd if (n > 32768)
    for (int64_t j = 0; j < n; j++) {
      const float mj = b1 * m[j] + (1.f - b1) * g[j];
      const float vj = b2 * v[j] + (1.f - b2) * g[j] * g[j];
      m[j] = mj;
      v[j] = vj;
      w[j] -= step * mj / (std::sqrt(vj * rc2) + eps);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
const char* isaName(cpu_isa isa) {
  switch (isa) {
    case cpu_isa::sse41: return "sse41";
    case cpu_isa::avx: return "avx";
    case cpu_isa::avx2: return "avx2";
    case cpu_isa::avx2_vnni: return "avx2_vnni";
    case cpu_isa::avx512_mic: return "avx512_mic";
    case cpu_isa::avx512_mic_4ops: return "avx512_mic_4ops";
    case cpu_isa::avx512_core: return "avx512_core";
    case cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "generic";
  }
}

Napi::Value info(const Napi::CallbackInfo& cb) {
  Napi::Env env = cb.Env();
  auto o = Napi::Object::New(env);
  const dnnl_version_t* v = dnnl::version();
  o.Set("version", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
  o.Set("isa", isaName(get_effective_cpu_isa()));
  o.Set("threads", omp_get_max_threads());
  size_t plans = convPlans.size() + matmulPlans.size() + bnPlans.size() + poolPlans.size();
  o.Set("plans", static_cast<double>(plans));
  return o;
}

void setThreads(const Napi::CallbackInfo& cb) {
  int n = cb[0].As<Napi::Number>().Int32Value();
  if (n >= 1) omp_set_num_threads(n);
}

void clearPlans(const Napi::CallbackInfo&) {
  convPlans.clear();
  matmulPlans.clear();
  bnPlans.clear();
  poolPlans.clear();
}

// Runs `fn`, turning a oneDNN error into a JS Error with `status` (never an abort).
template <void (*fn)(const Napi::CallbackInfo&)>
Napi::Value guarded(const Napi::CallbackInfo& info) {
  try {
    fn(info);
  } catch (const dnnl::error& e) {
    auto err = Napi::Error::New(info.Env(), std::string("oneDNN: ") + e.what());
    err.Set("status", Napi::Number::New(info.Env(), static_cast<double>(e.status)));
    throw err;
  }
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("conv", Napi::Function::New(env, guarded<conv>));
  exports.Set("matmul", Napi::Function::New(env, guarded<matmulOp>));
  exports.Set("bnForward", Napi::Function::New(env, guarded<bnForward>));
  exports.Set("bnBackward", Napi::Function::New(env, guarded<bnBackward>));
  exports.Set("pool", Napi::Function::New(env, guarded<pool>));
  exports.Set("adam", Napi::Function::New(env, guarded<adam>));
  exports.Set("setThreads", Napi::Function::New(env, guarded<setThreads>));
  exports.Set("clearPlans", Napi::Function::New(env, guarded<clearPlans>));
  exports.Set("info", Napi::Function::New(env, info));
  return exports;
}

}  // namespace

NODE_API_MODULE(ulearn_native, Init)
