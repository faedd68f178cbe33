build-avx/obj/llc/svg.o: llc/svg.c llc/llc_svg.h llc/../core/llc_common.h
llc/llc_svg.h:
llc/../core/llc_common.h:
