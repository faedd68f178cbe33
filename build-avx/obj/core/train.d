build-avx/obj/core/train.o: core/train.c core/llc_train.h \
 core/llc_model.h core/llc_common.h core/../tasks/llc_task.h \
 core/../tasks/../core/llc_common.h
core/llc_train.h:
core/llc_model.h:
core/llc_common.h:
core/../tasks/llc_task.h:
core/../tasks/../core/llc_common.h:
