// Candidates for the frozen matmuls of a training step (issue: bf16 frozen base), on the step's
// real shapes: OpenBLAS sgemm (what dcft uses), oneDNN's dnnl_sgemm, oneDNN's matmul primitive in
// fp32, and oneDNN's matmul in bf16 (bf16 activations and weights, fp32 accumulation and output),
// with the frozen weight reordered once into the primitive's preferred layout (as a frozen base
// allows) and the activation's fp32 → bf16 conversion timed separately.
//
//   gcc -O2 -march=native -fopenmp bench/gemm_candidates.c -o /tmp/gemm_candidates -ldnnl -lopenblas
//   OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 /tmp/gemm_candidates 4096 384 1536   # n h f (MiniLM, 32 × 128)
//
// Prints, per shape, the best of several repetitions (each ≥ 0.3 s) in GFLOP/s (2·m·n·k per product).
#include <dnnl.h>
#include <cblas.h>
#include <omp.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(x) do { dnnl_status_t s_ = (x); if (s_ != dnnl_success) { fprintf(stderr, "%s: %d\n", #x, (int)s_); exit(1); } } while (0)

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

static uint16_t to_bf16(float f) {  // round to nearest even
    uint32_t u; memcpy(&u, &f, 4);
    if ((u & 0x7fffffff) > 0x7f800000) return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fff + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}

static void convert(const float *x, uint16_t *y, long n) {
    #pragma omp parallel for schedule(static)
    for (long i = 0; i < n; i++) y[i] = to_bf16(x[i]);
}

typedef void (*kernel_fn)(void *ctx);

// Best GFLOP/s over `reps` repetitions of at least 0.3 s each.
static double measure(kernel_fn f, void *ctx, double flops, int reps) {
    f(ctx);
    double best = 0;
    for (int r = 0; r < reps; r++) {
        int iters = 0; double t0 = now(), t;
        do { f(ctx); iters++; t = now(); } while (t - t0 < 0.3);
        double g = flops * iters / (t - t0) / 1e9;
        if (g > best) best = g;
    }
    return best;
}

typedef struct {
    int m, n, k, transB;     // C[m×n] = A[m×k] · op(B); B is W[n×k] (transB, y = x·Wᵀ) or W[k×n]
    float *a, *b, *c;
    uint16_t *a16, *b16;
    dnnl_engine_t eng; dnnl_stream_t stream;
    dnnl_primitive_t prim_f32, prim_bf16;
    dnnl_memory_t mem[3], mem16[3];
} shape_t;

static void run_openblas(void *p) {
    shape_t *s = p;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, s->transB ? CblasTrans : CblasNoTrans, s->m, s->n, s->k, 1, s->a, s->k,
                s->b, s->transB ? s->k : s->n, 0, s->c, s->n);
}
static void run_dnnl_sgemm(void *p) {
    shape_t *s = p;  // dnnl_sgemm is row-major
    CHECK(dnnl_sgemm('N', s->transB ? 'T' : 'N', s->m, s->n, s->k, 1, s->a, s->k, s->b, s->transB ? s->k : s->n, 0, s->c, s->n));
}
static void exec(shape_t *s, dnnl_primitive_t prim, dnnl_memory_t *m) {
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, m[0]}, {DNNL_ARG_WEIGHTS, m[1]}, {DNNL_ARG_DST, m[2]}};
    CHECK(dnnl_primitive_execute(prim, s->stream, 3, args));
    CHECK(dnnl_stream_wait(s->stream));
}
static void run_matmul_f32(void *p) { shape_t *s = p; exec(s, s->prim_f32, s->mem); }
static void run_matmul_bf16(void *p) { shape_t *s = p; exec(s, s->prim_bf16, s->mem16); }
static void run_convert(void *p) { shape_t *s = p; convert(s->a, s->a16, (long)s->m * s->k); }
static void run_matmul_bf16_with_convert(void *p) { run_convert(p); run_matmul_bf16(p); }

// A matmul primitive for `type` (f32 or bf16 src/weights; f32 dst) whose weights use the layout the
// primitive prefers; the frozen weight is reordered into it once. Returns the primitive; sets mems.
static dnnl_primitive_t make_matmul(shape_t *s, dnnl_data_type_t type, dnnl_memory_t *mem, void *a, void *b) {
    dnnl_memory_desc_t src, wany, dst, wuser;
    dnnl_dims_t sd = {s->m, s->k}, wd = {s->k, s->n}, dd = {s->m, s->n};
    dnnl_dims_t sstr = {s->k, 1}, dstr = {s->n, 1};
    dnnl_dims_t wstr = {s->transB ? 1 : s->n, s->transB ? s->k : 1};
    CHECK(dnnl_memory_desc_init_by_strides(&src, 2, sd, type, sstr));
    CHECK(dnnl_memory_desc_init_by_tag(&wany, 2, wd, type, dnnl_format_tag_any));
    CHECK(dnnl_memory_desc_init_by_strides(&wuser, 2, wd, type, wstr));
    CHECK(dnnl_memory_desc_init_by_strides(&dst, 2, dd, dnnl_f32, dstr));
    dnnl_matmul_desc_t md;
    CHECK(dnnl_matmul_desc_init(&md, &src, &wany, NULL, &dst));
    dnnl_primitive_desc_t pd;
    CHECK(dnnl_primitive_desc_create(&pd, &md, NULL, s->eng, NULL));
    const dnnl_memory_desc_t *wpref = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    dnnl_memory_t wsrc;
    CHECK(dnnl_memory_create(&mem[0], &src, s->eng, a));
    CHECK(dnnl_memory_create(&wsrc, &wuser, s->eng, b));
    CHECK(dnnl_memory_create(&mem[1], wpref, s->eng, DNNL_MEMORY_ALLOCATE));
    CHECK(dnnl_memory_create(&mem[2], &dst, s->eng, s->c));
    dnnl_primitive_desc_t rpd; dnnl_primitive_t reorder;
    CHECK(dnnl_reorder_primitive_desc_create(&rpd, &wuser, s->eng, wpref, s->eng, NULL));
    CHECK(dnnl_primitive_create(&reorder, rpd));
    dnnl_exec_arg_t rargs[2] = {{DNNL_ARG_FROM, wsrc}, {DNNL_ARG_TO, mem[1]}};
    CHECK(dnnl_primitive_execute(reorder, s->stream, 2, rargs));
    CHECK(dnnl_stream_wait(s->stream));
    dnnl_primitive_t prim;
    CHECK(dnnl_primitive_create(&prim, pd));
    return prim;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 4096, h = argc > 2 ? atoi(argv[2]) : 384, f = argc > 3 ? atoi(argv[3]) : 1536;
    int reps = argc > 4 ? atoi(argv[4]) : 5;
    dnnl_engine_t eng; dnnl_stream_t stream;
    CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&stream, eng, dnnl_stream_default_flags));
    // The step's products: forward y = x·Wᵀ (transB) for h→h, h→f, f→h; input gradients dx = dy·W.
    struct { const char *name; int m, nn, k, transB; } shapes[] = {
        {"fwd x·Wᵀ h→h", n, h, h, 1}, {"fwd x·Wᵀ h→f", n, f, h, 1}, {"fwd x·Wᵀ f→h", n, h, f, 1},
        {"bwd dy·W h→h", n, h, h, 0}, {"bwd dy·W f→h", n, h, f, 0}, {"bwd dy·W h→f", n, f, h, 0},
    };
    printf("threads %d (OpenMP) / OpenBLAS %d; n %d, h %d, f %d; GFLOP/s, best of %d\n", omp_get_max_threads(),
           openblas_get_num_threads(), n, h, f, reps);
    printf("%-16s %9s %9s %9s %9s %9s %7s\n", "product", "openblas", "dnnl-sg", "dnnl-f32", "dnnl-bf16", "bf16+cvt", "cvt ms");
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        shape_t s = {.m = shapes[i].m, .n = shapes[i].nn, .k = shapes[i].k, .transB = shapes[i].transB, .eng = eng, .stream = stream};
        long an = (long)s.m * s.k, bn = (long)s.n * s.k, cn = (long)s.m * s.n;
        s.a = malloc(an * 4); s.b = malloc(bn * 4); s.c = malloc(cn * 4);
        s.a16 = malloc(an * 2); s.b16 = malloc(bn * 2);
        srand(1);
        for (long j = 0; j < an; j++) s.a[j] = (float)rand() / RAND_MAX - 0.5f;
        for (long j = 0; j < bn; j++) s.b[j] = ((float)rand() / RAND_MAX - 0.5f) * 0.1f;
        convert(s.a, s.a16, an); convert(s.b, s.b16, bn);
        s.prim_f32 = make_matmul(&s, dnnl_f32, s.mem, s.a, s.b);
        s.prim_bf16 = make_matmul(&s, dnnl_bf16, s.mem16, s.a16, s.b16);
        double fl = 2.0 * s.m * s.n * s.k;
        double g0 = measure(run_openblas, &s, fl, reps), g1 = measure(run_dnnl_sgemm, &s, fl, reps);
        double g2 = measure(run_matmul_f32, &s, fl, reps), g3 = measure(run_matmul_bf16, &s, fl, reps);
        double g4 = measure(run_matmul_bf16_with_convert, &s, fl, reps);
        double cvt = 1e3 / measure(run_convert, &s, 1e9, reps);   // ms per conversion of A
        printf("%-16s %9.1f %9.1f %9.1f %9.1f %9.1f %7.3f\n", shapes[i].name, g0, g1, g2, g3, g4, cvt);
        fflush(stdout);
    }
    return 0;
}
