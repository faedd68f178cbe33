/* attention_lanes.c - the "lanes" attention kernels (below
 * LLC_ATTN_GEMM_MIN_T): eight (sequence, head) pairs at once, one per vector
 * lane, for the full and the selected-rows kernels. */
#include "kernels_impl.h"

/* ---------------- attention with (sequence, head) pairs in vector lanes ----------------
 * At T < ATTN_GEMM_MIN_T ("lanes"), when the NA heads not skipped
 * (LLC_HEAD_SKIP; NA = NH without) number a multiple of 8 or divide 8:
 * lane l of an 8-wide vector holds the same quantity of one (sequence, head)
 * pair (one score, one probability, one component of q, k, v or their
 * gradients), so every operation fills a vector whatever T and HS are, with
 * no per-head transposes, calls, memsets or padded row tails; at NH = 8,
 * HS = 8, T = 17 the per-(b, h) loops spent most of their time on exactly
 * those. NA a multiple of 8: one sequence and 8 of its heads per vector.
 * NA = 1, 2, 4: every active head of 8/NA sequences whose query positions
 * are the same (all sequences in the full kernels; in the rows kernels, consecutive
 * sequences with the same selected positions); the lanes past the last such
 * sequence repeat the first one's and are dropped (nothing written, their
 * gradients masked to 0). The group's queries, keys and values are gathered
 * into lane layout (x[(row * HS + i) * 8 + lane]) in scratch. A lane's
 * numbers depend only on its own (sequence, head, query row), whatever
 * shares the vector, so the full and the rows kernels agree bit for bit. */

/* The heads not skipped. */
static int active_heads(const llc_head_clamp *cl, int NH)
{
    int na = 0;
    for (int h = 0; h < NH; h++) na += !head_skipped(cl, h);
    return na;
}

/* Can the lanes kernels run? Skipped heads are left out of the lanes. The
 * others: forward, no clamp; backward, with a multiple of 8 of them, a head
 * may be zeroed (no gradient: its lanes of d out are masked to 0). A
 * weight-refined head's passes skip every other head of its layer, so its
 * (sequence, head) pairs fill the lanes with 8 sequences. */
int llc_attn_lanes_ok(const llc_head_clamp *cl, int NH, int T, int allow_zeroed)
{
    const int na = active_heads(cl, NH);
    if (na == 0 || (na % LANES && LANES % na) || T >= ATTN_GEMM_MIN_T) return 0;
    for (int h = 0; cl && h < NH; h++)
        if (cl[h].kind != LLC_HEAD_FREE && !head_skipped(cl, h) &&
            !(allow_zeroed && na % LANES == 0 && head_zeroed(cl, h)))
            return 0;
    return 1;
}

/* The lanes' eight pointers x[l] + off in locals p0..p7 (the may_alias
 * vector stores would otherwise make the compiler reload them). */
#define LANE_PTRS(TY, p, x, off)                                                                      \
    TY *p##0 = (x)[0] + (off), *p##1 = (x)[1] + (off), *p##2 = (x)[2] + (off), *p##3 = (x)[3] + (off), \
       *p##4 = (x)[4] + (off), *p##5 = (x)[5] + (off), *p##6 = (x)[6] + (off), *p##7 = (x)[7] + (off)

/* xt (n, HS) lanes <- rows pos[r] (r if pos is NULL) of the lanes' blocks:
 * lane l's HS floats at x[l] + off + row*ld; 8 x 8 blocks when HS is a
 * multiple of 8. */
static void to_lanes(float *restrict xt, const float *const *x, size_t off, int ld, const int *pos, int n, int HS)
{
    LANE_PTRS(const float, p, x, off);
    const float *ps[LANES] = {p0, p1, p2, p3, p4, p5, p6, p7};
    for (int r = 0; r < n; r++) {
        const size_t ro = (size_t)(pos ? pos[r] : r) * ld;
        float *o = xt + (size_t)r * HS * LANES;
        if (HS % 8 == 0) {
            for (int c = 0; c < HS; c += 8) {
                LOAD8P(a, p, ro + c);
                TR8V(a);
                STORE8S(o + (size_t)c * LANES, LANES, a, =);
            }
            continue;
        }
        for (int l = 0; l < LANES; l++)
            for (int i = 0; i < HS; i++) o[(size_t)i * LANES + l] = ps[l][ro + i];
    }
}

/* The first `live` lanes' blocks += xt lanes (add = 1) or = xt lanes (add =
 * 0), the inverse of to_lanes. Called through the two wrappers below. */
static inline __attribute__((always_inline)) void from_lanes_x(float *const *x, size_t off, int ld,
                                                               const float *restrict xt, const int *pos, int n,
                                                               int HS, int live, int add)
{
    LANE_PTRS(float, p, x, off);
    for (int r = 0; r < n; r++) {
        const size_t ro = (size_t)(pos ? pos[r] : r) * ld;
        const float *o = xt + (size_t)r * HS * LANES;
        if (HS % 8 == 0 && live == LANES) {
            for (int c = 0; c < HS; c += 8) {
                LOAD8S(a, o + (size_t)c * LANES, LANES);
                TR8V(a);
                if (add)
                    STORE8P(p, ro + c, a, +=);
                else
                    STORE8P(p, ro + c, a, =);
            }
            continue;
        }
        for (int l = 0; l < live; l++)
            for (int i = 0; i < HS; i++) {
                float *y = &x[l][off + ro + i];
                *y = add ? *y + o[(size_t)i * LANES + l] : o[(size_t)i * LANES + l];
            }
    }
}

static void from_lanes_add(float *const *x, size_t off, int ld, const float *restrict xt, const int *pos, int n,
                           int HS, int live)
{
    from_lanes_x(x, off, ld, xt, pos, n, HS, live, 1);
}

static void from_lanes_set(float *const *x, size_t off, int ld, const float *restrict xt, const int *pos, int n,
                           int HS, int live)
{
    from_lanes_x(x, off, ld, xt, pos, n, HS, live, 0);
}

/* Row r of the group's attention (lanes p[s*8 + l], s < len) to and from the
 * att rows of its lanes (lane l's row at a[l] + off), 8 x 8 blocks of s;
 * only the first `live` lanes are written. */
static void att_from_lanes(float *const *a, size_t off, const float *p, int len, int T, int live)
{
    LANE_PTRS(float, q, a, off);
    int s = 0;
    if (live == LANES)
        for (; s + 8 <= len; s += 8) {
            LOAD8S(y, p + (size_t)s * LANES, LANES);
            TR8V(y);
            STORE8P(q, s, y, =);
        }
    for (int l = 0; l < live; l++) {
        float *row = a[l] + off;
        for (int j = s; j < len; j++) row[j] = p[(size_t)j * LANES + l];
        for (int j = len; j < T; j++) row[j] = 0.0f;
    }
}

static void att_to_lanes(float *p, const float *const *a, size_t off, int len)
{
    LANE_PTRS(const float, q, a, off);
    int s = 0;
    for (; s + 8 <= len; s += 8) {
        LOAD8P(y, q, s);
        TR8V(y);
        STORE8S(p + (size_t)s * LANES, LANES, y, =);
    }
    for (int l = 0; l < LANES; l++)
        for (int j = s; j < len; j++) p[(size_t)j * LANES + l] = a[l][off + j];
}

/* Where one vector's (sequence, head) pairs live: lane l is head head[l] of
 * a sequence whose qkv rows start at q[l] (at the head's Q columns), whose
 * queries are at positions tq[r] (r < m, increasing, the same for every
 * lane), with out / d out row r at o[l] / go[l] + r*D and att row r at
 * a[l] / ca[l] + r*ars; dq[l] = dqkv at the place of q[l]. Lanes >= live
 * repeat lower ones and are dropped. */
typedef struct {
    const float *q[LANES];
    float *o[LANES];
    const float *go[LANES];
    float *a[LANES];
    const float *ca[LANES];
    float *dq[LANES];
    int head[LANES];
    const int *tq;
    int m, live;
    size_t ars;
} lanes_grp;

/* y (HS) lanes = Σ_{s < len} w[s*ws] x[s] (x (len, HS) lanes), summed in
 * the order of s with eight components at once in registers. */
static void lanes_wsum(float *restrict y, const float *restrict w, size_t ws, const float *restrict x, int len, int HS)
{
    const size_t xs = (size_t)HS * LANES;
    int i = 0;
    for (; i + 8 <= HS; i += 8) {
        v8f a0 = splat8(0.0f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        const float *xi = x + (size_t)i * LANES;
        for (int s = 0; s < len; s++, xi += xs) {
            const v8f w_ = CV8(w + s * ws);
            MAD8(a0, w_, CV8(xi)), MAD8(a1, w_, CV8(xi + LANES)), MAD8(a2, w_, CV8(xi + 2 * LANES));
            MAD8(a3, w_, CV8(xi + 3 * LANES)), MAD8(a4, w_, CV8(xi + 4 * LANES)), MAD8(a5, w_, CV8(xi + 5 * LANES));
            MAD8(a6, w_, CV8(xi + 6 * LANES)), MAD8(a7, w_, CV8(xi + 7 * LANES));
        }
        float *yi = y + (size_t)i * LANES;
        V8(yi) = a0, V8(yi + LANES) = a1, V8(yi + 2 * LANES) = a2, V8(yi + 3 * LANES) = a3;
        V8(yi + 4 * LANES) = a4, V8(yi + 5 * LANES) = a5, V8(yi + 6 * LANES) = a6, V8(yi + 7 * LANES) = a7;
    }
    for (; i < HS; i++) {
        v8f a = splat8(0.0f);
        for (int s = 0; s < len; s++) MAD8(a, CV8(w + s * ws), CV8(x + s * xs + (size_t)i * LANES));
        V8(y + (size_t)i * LANES) = a;
    }
}

static void lanes_fwd(const lanes_grp *g, float *scratch, int T, int D, int HS, int causal)
{
    const int D3 = 3 * D, m = g->m, kend = causal ? g->tq[m - 1] + 1 : T;
    const v8f scale = splat8(1.0f / sqrtf((float)HS));
    float *kt = scratch, *vt = kt + (size_t)T * HS * LANES, *qt = vt + (size_t)T * HS * LANES;
    float *p = qt + (size_t)T * HS * LANES, *ot = p + (size_t)T * LANES;
    to_lanes(kt, g->q, (size_t)D, D3, NULL, kend, HS);
    to_lanes(vt, g->q, 2 * (size_t)D, D3, NULL, kend, HS);
    to_lanes(qt, g->q, 0, D3, g->tq, m, HS);
    for (int r = 0; r < m; r++) {
        const int len = causal ? g->tq[r] + 1 : T;
        const float *qr = qt + (size_t)r * HS * LANES;
        v8f mx = splat8(-INFINITY);
        int s = 0;
        for (; s + 4 <= len; s += 4) { /* four keys at once: four independent sums over i */
            const float *k0 = kt + (size_t)s * HS * LANES, *k1 = k0 + HS * LANES, *k2 = k1 + HS * LANES,
                        *k3 = k2 + HS * LANES;
            v8f a0 = splat8(0.0f), a1 = a0, a2 = a0, a3 = a0;
            for (int i = 0; i < HS; i++) {
                const v8f qi = CV8(qr + i * LANES);
                MAD8(a0, qi, CV8(k0 + i * LANES));
                MAD8(a1, qi, CV8(k1 + i * LANES));
                MAD8(a2, qi, CV8(k2 + i * LANES));
                MAD8(a3, qi, CV8(k3 + i * LANES));
            }
            a0 *= scale, a1 *= scale, a2 *= scale, a3 *= scale;
            V8(p + s * LANES) = a0, V8(p + (s + 1) * LANES) = a1, V8(p + (s + 2) * LANES) = a2;
            V8(p + (s + 3) * LANES) = a3;
            mx = vmax8(vmax8(vmax8(vmax8(mx, a0), a1), a2), a3);
        }
        for (; s < len; s++) {
            const float *ks = kt + (size_t)s * HS * LANES;
            v8f acc = splat8(0.0f);
            for (int i = 0; i < HS; i++) MAD8(acc, CV8(qr + i * LANES), CV8(ks + i * LANES));
            acc *= scale;
            V8(p + s * LANES) = acc;
            mx = vmax8(mx, acc);
        }
        v8f sum = splat8(0.0f);
        for (s = 0; s < len; s++) {
            v8f e = vexp8(CV8(p + s * LANES) - mx);
            V8(p + s * LANES) = e;
            sum += e;
        }
        const v8f inv = splat8(1.0f) / sum;
        for (s = 0; s < len; s++) V8(p + s * LANES) = CV8(p + s * LANES) * inv;
        lanes_wsum(ot, p, LANES, vt, len, HS);
        const size_t orow = (size_t)r * D;
        from_lanes_set(g->o, orow, 0, ot, NULL, 1, HS, g->live);
        att_from_lanes(g->a, r * g->ars, p, len, T, g->live);
    }
}

static void lanes_bwd(const lanes_grp *g, const llc_head_clamp *cl, float *scratch, int T, int D, int HS, int causal)
{
    const int D3 = 3 * D, m = g->m, kend = causal ? g->tq[m - 1] + 1 : T;
    const size_t th = (size_t)T * HS * LANES, tt = (size_t)T * LANES;
    const v8f scale = splat8(1.0f / sqrtf((float)HS));
    float *kt = scratch, *vt = kt + th, *qt = vt + th, *gt = qt + th, *dqt = gt + th, *dkt = dqt + th, *dvt = dkt + th;
    float *pm = dvt + th, *dsm = pm + (size_t)T * tt; /* (m, T) lanes: the rows' P and d scores */
    to_lanes(kt, g->q, (size_t)D, D3, NULL, kend, HS);
    to_lanes(vt, g->q, 2 * (size_t)D, D3, NULL, kend, HS);
    to_lanes(qt, g->q, 0, D3, g->tq, m, HS);
    to_lanes(gt, g->go, 0, D, NULL, m, HS);
    v8i keep = {0};
    for (int l = 0; l < g->live; l++) keep[l] = head_zeroed(cl, g->head[l]) ? 0 : -1;
    for (size_t j = 0; j < (size_t)m * HS; j++) V8(gt + j * LANES) = (v8f)((v8i)CV8(gt + j * LANES) & keep);
    for (int r = 0; r < m; r++) {
        const int len = causal ? g->tq[r] + 1 : T;
        const float *gr = gt + (size_t)r * HS * LANES;
        float *p = pm + r * tt, *ds = dsm + r * tt;
        att_to_lanes(p, g->ca, r * g->ars, len);
        /* dP = dO · Vᵀ (into ds), two keys at once, and Σ_s P dP */
        v8f dot = splat8(0.0f);
        int s = 0;
        for (; s + 2 <= len; s += 2) {
            const float *v0 = vt + (size_t)s * HS * LANES, *v1 = v0 + HS * LANES;
            v8f a0 = splat8(0.0f), a1 = a0;
            for (int i = 0; i < HS; i++) {
                const v8f gi = CV8(gr + i * LANES);
                MAD8(a0, gi, CV8(v0 + i * LANES));
                MAD8(a1, gi, CV8(v1 + i * LANES));
            }
            V8(ds + s * LANES) = a0, V8(ds + (s + 1) * LANES) = a1;
            MAD8(dot, CV8(p + s * LANES), a0);
            MAD8(dot, CV8(p + (s + 1) * LANES), a1);
        }
        for (; s < len; s++) {
            const float *vs = vt + (size_t)s * HS * LANES;
            v8f acc = splat8(0.0f);
            for (int i = 0; i < HS; i++) MAD8(acc, CV8(gr + i * LANES), CV8(vs + i * LANES));
            V8(ds + s * LANES) = acc;
            MAD8(dot, CV8(p + s * LANES), acc);
        }
        /* d scores = P (dP - Σ P dP) scale; dQ = dS · K */
        for (s = 0; s < len; s++) V8(ds + s * LANES) = CV8(p + s * LANES) * (CV8(ds + s * LANES) - dot) * scale;
        lanes_wsum(dqt + (size_t)r * HS * LANES, ds, LANES, kt, len, HS);
    }
    /* dV = Pᵀ · dO and dK = dSᵀ · Q: key s over the rows that see it (r >= r0) */
    for (int s = 0, r0 = 0; s < kend; s++) {
        while (causal && g->tq[r0] < s) r0++;
        lanes_wsum(dvt + (size_t)s * HS * LANES, pm + r0 * tt + s * LANES, tt, gt + (size_t)r0 * HS * LANES, m - r0,
                   HS);
        lanes_wsum(dkt + (size_t)s * HS * LANES, dsm + r0 * tt + s * LANES, tt, qt + (size_t)r0 * HS * LANES, m - r0,
                   HS);
    }
    from_lanes_add(g->dq, 0, D3, dqt, g->tq, m, HS, g->live);
    from_lanes_add(g->dq, (size_t)D, D3, dkt, NULL, kend, HS, g->live);
    from_lanes_add(g->dq, 2 * (size_t)D, D3, dvt, NULL, kend, HS, g->live);
}

/* The lanes kernels over query groups: rows NULL = all T positions of each
 * of n sequences (the full kernels: att (n, NH, T, T)), else the n selected
 * rows, grouped by sequence (att (n, NH, T)); out / dout rows follow the
 * query rows. dqkv NULL: the forward (writes out, att), else the backward
 * (reads dout, att; adds to dqkv). */
void llc_attn_lanes(float *out, float *att, float *dqkv, const float *dout, const float *catt, float *scratch,
                            const float *qkv, const int *rows, const llc_head_clamp *cl, int n, int T, int NH, int HS,
                            int causal)
{
    const int D = NH * HS, D3 = 3 * D, M = rows ? n : n * T;
    const int na = active_heads(cl, NH);          /* the heads not skipped */
    const int nseq = na < LANES ? LANES / na : 1; /* sequences per vector */
    /* head h's att rows: (i0 + r)*NH*T + h*T + s with rows, ((b*NH + h)*T + r)*T + s without */
    const size_t ahs = rows ? (size_t)T : (size_t)T * T, ars = rows ? (size_t)NH * T : (size_t)T;
    int tq[ATTN_GEMM_MIN_T], first[LANES];
    for (int i0 = 0, i1; i0 < M; i0 = i1) {
        /* up to nseq consecutive sequences with the same query positions; first[j] = their first query */
        i1 = rows ? row_group_end(rows, i0, M, T) : i0 + T;
        const int m = i1 - i0;
        for (int r = 0; r < m; r++) tq[r] = rows ? rows[i0 + r] % T : r;
        int cnt = 0;
        first[cnt++] = i0;
        while (cnt < nseq && i1 < M) {
            const int j1 = rows ? row_group_end(rows, i1, M, T) : i1 + T;
            int same = j1 - i1 == m;
            for (int r = 0; same && r < m; r++) same = (rows ? rows[i1 + r] % T : r) == tq[r];
            if (!same) break;
            first[cnt++] = i1;
            i1 = j1;
        }
        for (int hs = 0; hs < NH;) {
            int hb[LANES], k = 0; /* the next min(na, 8) active heads */
            for (; k < LANES && hs < NH; hs++)
                if (!head_skipped(cl, hs)) hb[k++] = hs;
            if (k == 0) break;
            lanes_grp g = {.tq = tq, .m = m, .ars = ars};
            for (int l = 0; l < LANES; l++) {
                const int j = l / (LANES / nseq), h = hb[nseq > 1 ? l % na : l];
                const int fi = first[j < cnt ? j : 0]; /* a dropped lane repeats the first sequence */
                const int b = rows ? rows[fi] / T : fi / T;
                const size_t a0 = rows ? (size_t)fi * NH * T : (size_t)b * NH * T * T;
                if (j < cnt) g.live = l + 1;
                g.head[l] = h;
                g.q[l] = qkv + (size_t)b * T * D3 + h * HS;
                if (!dqkv) {
                    g.o[l] = out + (size_t)fi * D + h * HS;
                    g.a[l] = att + a0 + h * ahs;
                } else {
                    g.go[l] = dout + (size_t)fi * D + h * HS;
                    g.ca[l] = catt + a0 + h * ahs;
                    g.dq[l] = dqkv + (size_t)b * T * D3 + h * HS;
                }
            }
            if (!dqkv) {
                lanes_fwd(&g, scratch, T, D, HS, causal);
                continue;
            }
            int any = 0;
            for (int l = 0; l < g.live; l++) any |= !head_zeroed(cl, g.head[l]);
            if (any) lanes_bwd(&g, cl, scratch, T, D, HS, causal);
        }
    }
}
