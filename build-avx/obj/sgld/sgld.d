build-avx/obj/sgld/sgld.o: sgld/sgld.c sgld/llc_sgld.h \
 sgld/../core/llc_model.h sgld/../core/llc_common.h
sgld/llc_sgld.h:
sgld/../core/llc_model.h:
sgld/../core/llc_common.h:
