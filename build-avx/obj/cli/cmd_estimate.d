build-avx/obj/cli/cmd_estimate.o: cli/cmd_estimate.c cli/cli.h \
 core/llc_common.h core/llc_config.h core/llc_json.h core/llc_common.h \
 core/llc_model.h core/llc_train.h core/../tasks/llc_task.h \
 core/../tasks/../core/llc_common.h core/llc_model.h core/llc_store.h \
 tasks/llc_task.h core/llc_train.h llc/llc_estimate.h \
 llc/../core/llc_model.h llc/../tasks/llc_task.h llc/../sgld/llc_sgld.h \
 llc/../sgld/../core/llc_model.h llc/llc_results.h \
 llc/../core/llc_store.h llc/llc_estimate.h
cli/cli.h:
core/llc_common.h:
core/llc_config.h:
core/llc_json.h:
core/llc_common.h:
core/llc_model.h:
core/llc_train.h:
core/../tasks/llc_task.h:
core/../tasks/../core/llc_common.h:
core/llc_model.h:
core/llc_store.h:
tasks/llc_task.h:
core/llc_train.h:
llc/llc_estimate.h:
llc/../core/llc_model.h:
llc/../tasks/llc_task.h:
llc/../sgld/llc_sgld.h:
llc/../sgld/../core/llc_model.h:
llc/llc_results.h:
llc/../core/llc_store.h:
llc/llc_estimate.h:
