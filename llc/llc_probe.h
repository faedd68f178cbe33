/* llc_probe.h - what each head does at one checkpoint: attention-pattern
 * scores from forward passes on a fixed, seeded probe set, circuit scores
 * from the weights, and ablations. Definitions, normalisations, layer-norm
 * handling and the probe-set size: llc/PROBES.md.
 *
 * A driver in the style of the estimator: a config in, a result out,
 * nothing printed. Every value is a pure function of (model, weights, task,
 * distribution, seed, n_seqs, mode): work is split by probe batch and by
 * head, each writes its own slot, and the sums run in a fixed order in
 * double, so the numbers are bit-identical for any n_threads.
 */
#ifndef LLC_PROBE_H
#define LLC_PROBE_H

#include "llc_model.h"
#include "llc_task.h"

typedef enum {
    LLC_PROBE_PREV_TOKEN = 0, /* mean attention t -> t-1 over rows t >= 1 */
    LLC_PROBE_CURRENT,        /* t -> t, rows t >= 1 */
    LLC_PROBE_FIRST,          /* t -> 0, rows t >= 1 */
    LLC_PROBE_ENTROPY,        /* nats, mean over rows t >= 1 */
    LLC_PROBE_INDUCTION,      /* repeated block: t -> t-K+1 over the second copy */
    LLC_PROBE_DUPLICATE,      /* repeated block: t -> t-K */
    LLC_PROBE_ICL,            /* icl task: query -> labels of its class's exemplars */
    LLC_PROBE_COPYING,        /* positive share of the OV circuit's eigenvalue mass */
    LLC_PROBE_COPY_SUPPRESSION, /* share of tokens whose OV diagonal is the row's strict minimum */
    LLC_PROBE_OWNED_OV,       /* number of output tokens the head owns by its OV diagonal */
    LLC_PROBE_OWNED_QK,       /* number of key tokens the head owns by its QK columns */
    LLC_PROBE_OWNED_ATT,      /* number of output tokens the head owns by its attention on the probe set */
    LLC_PROBE_ABLATION,       /* loss increase with the head's output zeroed / mean-replaced */
    LLC_PROBE_COUNT
} llc_probe_kind;

/* "prev_token", "current", ..., indexed by llc_probe_kind; NULL-terminated. */
extern const char *const llc_probe_names[];
/* The kind of a probe name, or -1. */
int llc_probe_parse(const char *name);

#define LLC_PROBE_DEFAULT_SEQS 256 /* probe-set size in sequences */
#define LLC_PROBE_MAX_SEQS 65536

typedef struct {
    const llc_model *model; /* a transformer, not pooled */
    const float *w;         /* its parameters (a checkpoint) */
    const llc_task *task;   /* the probe set's task (its shape must fit the model) */
    int dist;               /* index into task->dists: the probe set and the ablation loss */
    unsigned probes;        /* bit (1u << kind) per probe asked; 0 = every probe the task allows */
    int n_seqs;             /* probe-set size in sequences (0 = LLC_PROBE_DEFAULT_SEQS) */
    uint64_t seed;          /* of the probe set */
    int ablate_mean;        /* ablation: 0 zero the head's output, 1 replace it by its probe-set mean */
    int repeat;             /* induction/duplicate sequences: 1 (default) the block twice; -1 a
                             * control of the same law with the second copy drawn afresh */
    int own_tokens;         /* ownership over tokens [0, own_tokens) (0 = every output token) */
    int ablate_only;        /* 1 + l * n_heads + h: ablate that head only (the others' ablation NAN);
                             * 0 = every head */
    int n_threads;          /* >= 1 (0 = 1) */
} llc_probe_config;

typedef struct {
    int n_layers, n_heads;
    unsigned computed;  /* bit per probe kind computed */
    double *value;      /* (LLC_PROBE_COUNT, n_layers * n_heads): value[k * LH + l * NH + h]; NAN if not computed */
    double base_loss;   /* loss on the probe set without ablation (if ablation computed) */
    int n_own;          /* tokens in the ownership maps (0 if not computed) */
    int *owner_ov, *owner_qk, *owner_att; /* (n_own) head index l * NH + h owning each token (-1: none),
                                           * or NULL */
    int segments_ov, segments_qk, segments_att; /* contiguous runs of one owner in the maps */
    int n_seqs;         /* the probe-set size used */
    double seconds_circuits, seconds_patterns, seconds_ablation; /* wall time of the three parts (the
                         * patterns part includes the base loss the ablations compare against) */
} llc_probe_result;

/* Run the probes asked. LLC_ERR_INVALID with a message in err for a probe
 * the task or model cannot take (induction on a task without a token
 * vocabulary, icl on another task, a pooled model, ...), LLC_ERR_NOMEM.
 * r is zeroed first; free with llc_probe_result_free. */
int llc_probe_run(const llc_probe_config *cfg, llc_probe_result *r, char *err);
void llc_probe_result_free(llc_probe_result *r);
/* The probes llc_probe_run would compute for cfg, in *want (bits), or the
 * error it would return for the config and the probes asked; runs nothing. */
int llc_probe_plan(const llc_probe_config *cfg, unsigned *want, char *err);

/* One head's circuit from the weights (PROBES.md): qk = 0 the OV circuit
 * (vocab x n_out: row = the token attended to, column = the logit change),
 * qk = 1 the QK circuit (vocab x vocab: row = query token, column = key
 * token). *out malloc'd (rows x cols, row-major). */
int llc_probe_circuit(const llc_model *m, const float *w, int layer, int head, int qk, double **out, int *rows,
                      int *cols, char *err);

/* The attention pattern (T x T, malloc'd into *att) of head (layer, head)
 * on the example sequence: sequence 0 of the probe set of cfg. */
int llc_probe_pattern(const llc_probe_config *cfg, int layer, int head, float **att, int *T, char *err);

/* The ownership range `llc probe` uses for a run of task on a model with
 * n_out output tokens: sort's numbers without its separator (the last
 * token), else 0 (every output token). */
int llc_probe_own_tokens(const llc_task *task, int n_out);

/* Owners -> number of contiguous segments (runs of one owner). */
int llc_probe_segments(const int *owner, int n);

#endif
