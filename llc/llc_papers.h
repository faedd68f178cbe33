/* llc_papers.h - `llc paper`: the claims of the four studies the tool was
 * made for, checked against what a study's script left in a store
 * (tests/papers/paper_NAME.sh), each with the numbers measured and a verdict
 * computed by fixed, documented thresholds (llc/PAPERS_REPRO.md). Nothing
 * printed: the claims come back in a struct, the writers take a FILE.
 */
#ifndef LLC_PAPERS_H
#define LLC_PAPERS_H

#include <stdio.h>

#include "llc_store.h"

#define LLC_PAPER_MAX_CLAIMS 8
#define LLC_PAPER_MAX_RUNS 4

typedef enum {
    LLC_PAPER_REPRODUCED = 0,
    LLC_PAPER_PARTLY = 1,
    LLC_PAPER_NOT_REPRODUCED = 2,
    LLC_PAPER_NOT_MEASURED = 3 /* the store lacks what the claim needs */
} llc_paper_verdict;

/* "reproduced", "partly", "not reproduced", "not measured" */
extern const char *const llc_paper_verdict_names[];

typedef struct {
    char text[200];      /* the claim, as the study states it */
    char measured[3000]; /* the numbers it rests on */
    char seen[400];      /* why the verdict: the threshold met or missed */
    int verdict;         /* llc_paper_verdict */
} llc_paper_claim;

typedef struct {
    const char *name, *title;
    llc_paper_claim claim[LLC_PAPER_MAX_CLAIMS];
    int n;
    char runs[LLC_PAPER_MAX_RUNS][64]; /* the runs whose own reports the page links */
    int n_runs;
    int overall; /* the study's verdict: reproduced if every measured claim is, not
                    reproduced if none is, else partly */
} llc_paper_result;

/* The studies: "sort", "text", "icl", "modadd"; NULL-terminated. */
extern const char *const llc_paper_names[];

/* Check the claims of study name against the store. LLC_ERR_NOTFOUND (err
 * names what is missing) for an unknown study or a store without the
 * study's main run; a claim whose numbers are not stored is 'not measured'.
 * n_threads: for the evaluations computed from stored checkpoints. */
int llc_paper_evaluate(llc_store *s, const char *name, int n_threads, llc_paper_result *r, char *err);

/* Scale, wall seconds and the links of the written page (may be NULL). */
typedef struct {
    const char *scale;
    double wall_seconds; /* < 0: unknown */
    const char *version, *date;
    const char *const *run_pages; /* n_runs file names beside the page */
} llc_paper_meta;

/* The Markdown summary and the HTML page (self-contained, no script). */
int llc_paper_write_md(FILE *f, const llc_paper_result *r, const llc_paper_meta *m);
int llc_paper_write_html(FILE *f, const llc_paper_result *r, const llc_paper_meta *m);

#endif
