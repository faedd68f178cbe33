/* test_estimate_settings.c - the settings JSON stored with every estimate and
 * its inverse: config -> JSON -> config gives back every setting the JSON
 * holds, JSON -> config -> JSON gives back the same text, the text of a
 * given config is pinned (it is the key that finds stored estimates), older
 * forms still read, and bad settings are refused with a message naming the
 * key. */
#include "llc_estimate_settings.h"
#include "testutil.h"

#include <string.h>

/* The fields of c that the settings JSON holds (block where the mode can
 * use it: Metropolis on minibatches). */
static int same_settings(const llc_estimate_config *a, const llc_estimate_config *b)
{
    return a->sgld.eps == b->sgld.eps && a->sgld.gamma == b->sgld.gamma && a->sgld.nbeta == b->sgld.nbeta &&
           a->sgld.mala_every == b->sgld.mala_every && a->sgld.precond == b->sgld.precond &&
           a->auto_eps_divisor == b->auto_eps_divisor && a->nbeta_mode == b->nbeta_mode && a->chains == b->chains &&
           a->draws == b->draws && a->burnin == b->burnin && a->thin == b->thin && a->batch == b->batch &&
           a->init_batches == b->init_batches && a->paired == b->paired && a->seed == b->seed &&
           a->metropolis == b->metropolis &&
           (a->sgld.block == b->sgld.block ||
            !(a->metropolis == LLC_MH_ON || (a->metropolis == LLC_MH_AUTO && !(a->sgld.eps > 0))));
}

/* c -> JSON -> c2 -> JSON: c2 equals c on every setting, the texts agree. */
static void round_trip(const char *what, const llc_estimate_config *c, const llc_estimate_settings_opts *o)
{
    char err[LLC_ERRLEN] = "";
    char *s = llc_estimate_settings_json(c, o, 1234), *s2 = NULL;
    cJSON *j = s ? cJSON_Parse(s) : NULL;
    llc_estimate_config c2;
    llc_estimate_settings_opts o2;
    llc_estimate_config_default(&c2);
    c2.sgld.gamma = 7; /* a default the JSON must overwrite */
    int rc = llc_estimate_settings_parse(j, &c2, &o2, err);
    CHECK(s && j && rc == LLC_OK, "%s: the written settings read back (%s)", what, err);
    CHECK(same_settings(c, &c2), "%s: config -> JSON -> config keeps every setting", what);
    CHECK(o2.check_bias == o->check_bias && o2.per_traj == (o->per_traj && !(c->sgld.eps > 0)),
          "%s: the sweep options come back", what);
    s2 = llc_estimate_settings_json(&c2, &o2, 1234);
    CHECK(s && s2 && strcmp(s, s2) == 0, "%s: JSON -> config -> JSON is the same text\n  %s\n  %s", what, s, s2);
    cJSON_free(s);
    cJSON_free(s2);
    cJSON_Delete(j);
}

static void test_round_trips(void)
{
    llc_estimate_config c;
    llc_estimate_settings_opts o = {.per_traj = 1, .check_bias = 0};
    llc_estimate_config_default(&c);
    round_trip("defaults, eps auto@last", &c, &o);
    o.per_traj = 0;
    c.auto_eps_divisor = 2.5;
    round_trip("eps auto at each checkpoint, divisor 2.5", &c, &o);
    /* every key away from its default */
    c.sgld.eps = 3e-5;
    c.sgld.gamma = 250;
    c.sgld.nbeta = 77.5;
    c.nbeta_mode = LLC_NBETA_GIVEN;
    c.chains = 3;
    c.draws = 123;
    c.burnin = 45;
    c.thin = 6;
    c.batch = 17;
    c.init_batches = 5;
    c.sgld.mala_every = 2;
    c.paired = 0;
    c.seed = (1ULL << 40) + 3;
    c.sgld.precond = LLC_PRECOND_RMSPROP;
    c.auto_eps_divisor = 4;
    o.check_bias = 1;
    round_trip("every key set", &c, &o);
    c.paired = 1;
    c.burnin = 0;
    round_trip("paired on, burnin 0", &c, &o);
    c.metropolis = LLC_MH_ON;
    c.sgld.block = 5;
    round_trip("metropolis on, 5 steps per batch", &c, &o);
    c.metropolis = LLC_MH_OFF;
    c.sgld.block = 1;
    round_trip("metropolis off", &c, &o);
    c.metropolis = LLC_MH_EXACT;
    round_trip("metropolis exact, given eps", &c, &o);
    c.sgld.eps = 0;
    round_trip("metropolis exact, automatic eps", &c, &o);
    c.metropolis = LLC_MH_AUTO;
    c.sgld.block = 3;
    round_trip("metropolis auto, automatic eps, 3 steps per batch", &c, &o);
}

/* The text is the lookup key of stored estimates: it must not change. */
static void test_pinned_text(void)
{
    llc_estimate_config c;
    llc_estimate_settings_opts o = {.per_traj = 1};
    llc_estimate_config_default(&c);
    c.sgld.gamma = 100;
    char *s = llc_estimate_settings_json(&c, &o, 300);
    const char *want = "{\"sampler\":\"sgld\",\"eps\":\"auto@last\",\"eps_divisor\":4,\"eps_ref_step\":300,"
                       "\"gamma\":100,\"nbeta\":\"default\",\"chains\":4,\"draws\":200,\"burnin\":\"auto\","
                       "\"thin\":\"auto\",\"batch\":32,\"init_batches\":16,\"mala_every\":0,\"paired\":\"auto\","
                       "\"metropolis\":\"auto\",\"mh_block\":2,\"seed\":0,\"version\":\"" LLC_VERSION "\"}";
    CHECK(s && strcmp(s, want) == 0, "llc estimate's default settings text is unchanged:\n  %s", s ? s : "NULL");
    cJSON_free(s);
    c.sgld.eps = 1e-4;
    c.burnin = 0;
    c.thin = 1;
    c.chains = 2;
    c.draws = 20;
    o.check_bias = 1;
    s = llc_estimate_settings_json(&c, &o, 300);
    want = "{\"sampler\":\"sgld\",\"eps\":0.0001,\"gamma\":100,\"nbeta\":\"default\",\"chains\":2,\"draws\":20,"
           "\"burnin\":0,\"thin\":1,\"batch\":32,\"init_batches\":16,\"mala_every\":0,\"paired\":\"auto\","
           "\"seed\":0,\"check_bias\":true,\"version\":\"" LLC_VERSION "\"}";
    CHECK(s && strcmp(s, want) == 0, "given eps, lengths and the bias check:\n  %s", s ? s : "NULL");
    cJSON_free(s);
}

/* Parse text into c (from the defaults); the rc, the message in err. */
static int parse_text(const char *text, llc_estimate_config *c, llc_estimate_settings_opts *o, char *err)
{
    cJSON *j = cJSON_Parse(text);
    llc_estimate_config_default(c);
    err[0] = 0;
    int rc = llc_estimate_settings_parse(j, c, o, err);
    cJSON_Delete(j);
    return rc;
}

static void test_older_forms(void)
{
    llc_estimate_config c;
    llc_estimate_settings_opts o;
    char err[LLC_ERRLEN];
    int rc = parse_text("{\"sampler\":\"none\",\"eps\":\"auto\",\"gamma\":100,\"nbeta\":\"default\",\"chains\":2,"
                        "\"draws\":100,\"burnin\":\"auto\",\"thin\":\"auto\",\"batch\":32,\"init_batches\":16,"
                        "\"mala_every\":0,\"seed\":0,\"version\":\"0.0.9\"}",
                        &c, &o, err);
    CHECK(rc == LLC_OK, "an older settings object reads (%s)", err);
    CHECK(c.sgld.precond == LLC_PRECOND_NONE, "sampler \"none\" is plain SGLD");
    CHECK(c.auto_eps_divisor == 1, "an automatic eps without eps_divisor ran at the ladder's eps (divisor 1)");
    CHECK(c.paired == -1, "no \"paired\": automatic");
    CHECK(o.per_traj == 0 && o.check_bias == 0, "eps \"auto\": chosen at each checkpoint");
    CHECK(c.burnin == -1 && c.thin == 0 && c.sgld.nbeta == 0 && c.nbeta_mode == LLC_NBETA_DEFAULT,
          "the automatic words read as the automatic values");
    rc = parse_text("{\"eps\":\"auto@last\",\"eps_ref_step\":900,\"gamma\":3}", &c, &o, err);
    CHECK(rc == LLC_OK && o.per_traj == 1 && c.sgld.gamma == 3 && c.auto_eps_divisor == 1,
          "eps_ref_step is derived, not a setting (%s)", err);
    CHECK(c.metropolis == LLC_MH_EXACT,
          "an automatic eps without \"metropolis\": on iff the loss is exact (the default then)");
    rc = parse_text("{\"eps\":0.001,\"gamma\":3}", &c, &o, err);
    CHECK(rc == LLC_OK && c.metropolis == LLC_MH_AUTO,
          "a given eps without \"metropolis\": auto, which at a given eps is the same (%s)", err);
    rc = parse_text("{\"eps\":\"auto@last\",\"metropolis\":\"on\"}", &c, &o, err);
    CHECK(rc == LLC_OK && c.metropolis == LLC_MH_ON && c.sgld.block == 1,
          "metropolis on without mh_block: a batch per step, as it was written (%s)", err);
}

static void test_refused(void)
{
    static const struct {
        const char *text, *says;
    } bad[] = {
        {"{\"drawz\":100}", "unknown option '--drawz'"},
        {"{\"draws\":\"many\"}", "settings.draws must be a number"},
        {"{\"draws\":[100]}", "settings.draws must be a number"},
        {"{\"draws\":10.5}", "settings.draws must be a number"},
        {"{\"chains\":0}", "settings.chains"},
        {"{\"eps\":\"fast\"}", "settings.eps must be a number, \"auto\" or \"auto@last\""},
        {"{\"eps\":-1}", "settings.eps"},
        {"{\"sampler\":\"adam\"}", "settings.sampler"},
        {"{\"paired\":\"maybe\"}", "settings.paired"},
        {"{\"nbeta\":0}", "settings.nbeta"},
        {"{\"check_bias\":1}", "settings.check_bias"},
        {"{\"seed\":-3}", "settings.seed"},
        {"{\"eps_divisor\":0.5}", "settings.eps_divisor"},
        {"{\"metropolis\":\"maybe\"}", "settings.metropolis"},
        {"{\"mh_block\":0}", "settings.mh_block"},
        {"[1]", "must be a JSON object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        llc_estimate_config c;
        llc_estimate_settings_opts o;
        char err[LLC_ERRLEN];
        int rc = parse_text(bad[i].text, &c, &o, err);
        CHECK(rc == LLC_ERR_INVALID && strstr(err, bad[i].says), "%s is refused saying '%s' (got '%s')", bad[i].text,
              bad[i].says, err);
    }
}

int main(void)
{
    test_round_trips();
    test_pinned_text();
    test_older_forms();
    test_refused();
    return tu_finish("test_estimate_settings");
}
