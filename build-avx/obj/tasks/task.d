build-avx/obj/tasks/task.o: tasks/task.c tasks/task_impl.h \
 tasks/llc_task.h tasks/../core/llc_common.h tasks/../core/llc_json.h \
 tasks/../core/llc_common.h tasks/llc_regress.h \
 tasks/../core/llc_gtmodels.h tasks/../core/llc_model.h
tasks/task_impl.h:
tasks/llc_task.h:
tasks/../core/llc_common.h:
tasks/../core/llc_json.h:
tasks/../core/llc_common.h:
tasks/llc_regress.h:
tasks/../core/llc_gtmodels.h:
tasks/../core/llc_model.h:
