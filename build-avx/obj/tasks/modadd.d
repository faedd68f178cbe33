build-avx/obj/tasks/modadd.o: tasks/modadd.c tasks/task_impl.h \
 tasks/llc_task.h tasks/../core/llc_common.h tasks/../core/llc_json.h \
 tasks/../core/llc_common.h
tasks/task_impl.h:
tasks/llc_task.h:
tasks/../core/llc_common.h:
tasks/../core/llc_json.h:
tasks/../core/llc_common.h:
