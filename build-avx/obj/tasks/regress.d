build-avx/obj/tasks/regress.o: tasks/regress.c tasks/llc_regress.h \
 tasks/llc_task.h tasks/../core/llc_common.h tasks/../core/llc_json.h \
 tasks/../core/llc_common.h tasks/../core/llc_gtmodels.h \
 tasks/../core/llc_model.h
tasks/llc_regress.h:
tasks/llc_task.h:
tasks/../core/llc_common.h:
tasks/../core/llc_json.h:
tasks/../core/llc_common.h:
tasks/../core/llc_gtmodels.h:
tasks/../core/llc_model.h:
