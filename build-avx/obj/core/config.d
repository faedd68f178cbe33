build-avx/obj/core/config.o: core/config.c core/llc_config.h \
 core/llc_json.h core/llc_common.h core/llc_model.h core/llc_train.h \
 core/../tasks/llc_task.h core/../tasks/../core/llc_common.h
core/llc_config.h:
core/llc_json.h:
core/llc_common.h:
core/llc_model.h:
core/llc_train.h:
core/../tasks/llc_task.h:
core/../tasks/../core/llc_common.h:
