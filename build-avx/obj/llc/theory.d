build-avx/obj/llc/theory.o: llc/theory.c llc/llc_theory.h \
 core/llc_common.h tasks/llc_regress.h tasks/llc_task.h \
 tasks/../core/llc_common.h tasks/../core/llc_json.h \
 tasks/../core/llc_common.h tasks/../core/llc_gtmodels.h \
 tasks/../core/llc_model.h
llc/llc_theory.h:
core/llc_common.h:
tasks/llc_regress.h:
tasks/llc_task.h:
tasks/../core/llc_common.h:
tasks/../core/llc_json.h:
tasks/../core/llc_common.h:
tasks/../core/llc_gtmodels.h:
tasks/../core/llc_model.h:
