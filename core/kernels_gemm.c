/* kernels_gemm.c - the dense products: linear layers on cblas (OpenBLAS),
 * and the register-blocked small GEMM and the 8 x 8 block transpose
 * (kernels_impl.h) over whole matrices. */
#include "kernels_impl.h"

#include <cblas.h>

/* ---------------- linear ---------------- */

void llc_linear_ld_forward(float *out, int ld, const float *in, const float *w, const float *b, int N, int IC,
                           int OC)
{
    if (N <= 0) return;
    if (b) {
        llc_gather_rows(out, (size_t)ld, b, 0, NULL, N, OC);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, OC, IC, 1.0f, in, IC, w, IC, b ? 1.0f : 0.0f, out,
                ld);
}

void llc_linear_forward(float *out, const float *in, const float *w, const float *b, int N, int IC, int OC)
{
    llc_linear_ld_forward(out, OC, in, w, b, N, IC, OC);
}

/* db += column sums of dout (rows ld apart), 32 columns at a time in
 * registers (a row-by-row llc_add would wait on its own stores). */
static void bias_backward(float *db, const float *dout, int ld, int N, int OC)
{
    int j = 0;
    for (; j + 32 <= OC; j += 32) {
        v8f a0 = splat8(0.0f), a1 = a0, a2 = a0, a3 = a0;
        for (int n = 0; n < N; n++) {
            const float *d = dout + (size_t)n * ld + j;
            a0 += CV8(d), a1 += CV8(d + 8), a2 += CV8(d + 16), a3 += CV8(d + 24);
        }
        V8(db + j) += a0, V8(db + j + 8) += a1, V8(db + j + 16) += a2, V8(db + j + 24) += a3;
    }
    for (; j + 8 <= OC; j += 8) {
        v8f a0 = splat8(0.0f);
        for (int n = 0; n < N; n++) a0 += CV8(dout + (size_t)n * ld + j);
        V8(db + j) += a0;
    }
    for (; j < OC; j++) {
        float a = 0.0f;
        for (int n = 0; n < N; n++) a += dout[(size_t)n * ld + j];
        db[j] += a;
    }
}

void llc_linear_ld_backward(float *din, float *dw, float *db, const float *dout, int ld, const float *in,
                            const float *w, int N, int IC, int OC)
{
    if (N <= 0) return;
    if (din) /* din (N,IC) += dout (N,OC) · W (OC,IC) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, IC, OC, 1.0f, dout, ld, w, IC, 1.0f, din, IC);
    if (dw) /* dW (OC,IC) += doutᵀ · in */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, IC, N, 1.0f, dout, ld, in, IC, 1.0f, dw, IC);
    if (db) bias_backward(db, dout, ld, N, OC);
}

void llc_linear_backward(float *din, float *dw, float *db, const float *dout, const float *in, const float *w,
                         int N, int IC, int OC)
{
    llc_linear_ld_backward(din, dw, db, dout, OC, in, w, N, IC, OC);
}

void llc_linear_im_forward(float *out, const float *in, const float *w, const float *b, int N, int IC, int OC)
{
    if (N <= 0) return;
    if (b) {
        llc_gather_rows(out, (size_t)OC, b, 0, NULL, N, OC);
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, OC, IC, 1.0f, in, IC, w, OC, b ? 1.0f : 0.0f, out,
                OC);
}

void llc_linear_im_backward(float *din, float *dw, float *db, const float *dout, const float *in, const float *w,
                            int N, int IC, int OC)
{
    if (N <= 0) return;
    if (din) /* din (N,IC) += dout (N,OC) · Wᵀ */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, N, IC, OC, 1.0f, dout, OC, w, OC, 1.0f, din, IC);
    if (dw) /* dW (IC,OC) += inᵀ · dout */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, IC, OC, N, 1.0f, in, IC, dout, OC, 1.0f, dw, OC);
    if (db) bias_backward(db, dout, OC, N, OC);
}

/* The register blocks above over any number of rows (llc_kernels.h). */
void llc_gemm_nn(float *C, int ldc, const float *A, int lda, const float *B, int ldb, int M, int N, int K, int acc)
{
    for (int i = 0; i < M; i += 4) {
        const int m = imin(4, M - i);
        float *c = C + (size_t)i * ldc;
        const float *a = A + (size_t)i * lda;
        if (acc > 0)
            gemm_rows_x(c, ldc, a, (size_t)lda, 1, B, ldb, m, N, K, 1);
        else if (acc < 0)
            gemm_rows_x(c, ldc, a, (size_t)lda, 1, B, ldb, m, N, K, -1);
        else
            gemm_rows_x(c, ldc, a, (size_t)lda, 1, B, ldb, m, N, K, 0);
    }
}

/* xt (cols, rows) = x (rows, cols) with row strides ldx, ldt: 8 x 8 blocks
 * in registers, the edges element by element. */
void llc_transpose(float *restrict xt, int ldt, const float *restrict x, int ldx, int rows, int cols)
{
    const int r8 = rows & ~7, c8 = cols & ~7;
    for (int r = 0; r < r8; r += 8)
        for (int c = 0; c < c8; c += 8) TRANSPOSE8(xt + (size_t)c * ldt + r, ldt, x + (size_t)r * ldx + c, ldx, =);
    for (int r = 0; r < rows; r++) {
        const int c0 = r < r8 ? c8 : 0;
        for (int c = c0; c < cols; c++) xt[(size_t)c * ldt + r] = x[(size_t)r * ldx + c];
    }
}
