build-avx/obj/cli/cmd_train.o: cli/cmd_train.c cli/cli.h \
 core/llc_common.h core/llc_config.h core/llc_json.h core/llc_common.h \
 core/llc_model.h core/llc_train.h core/../tasks/llc_task.h \
 core/../tasks/../core/llc_common.h core/llc_model.h core/llc_store.h \
 tasks/llc_task.h core/llc_train.h tasks/llc_regress.h tasks/llc_task.h \
 tasks/../core/llc_json.h tasks/../core/llc_gtmodels.h \
 tasks/../core/llc_model.h
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
tasks/llc_regress.h:
tasks/llc_task.h:
tasks/../core/llc_json.h:
tasks/../core/llc_gtmodels.h:
tasks/../core/llc_model.h:
