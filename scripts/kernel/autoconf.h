/*
 * Selkie's seL4 5.0.0 kernel configuration (x86_64, pc99, QEMU TCG).
 * Replaces the bundled include/plat/pc99/autoconf.h, which is a verification
 * configuration (no printing, x2APIC) that the Makefile would always pick up.
 * Notes:
 *  - XAPIC, not x2APIC: QEMU 7.2 under TCG has no x2APIC.
 *  - No CONFIG_SUPPORT_PCID: TCG lacks PCID/INVPCID and the kernel stops at boot.
 *  - ROOT_CNODE_SIZE_BITS 18: the root task keeps two caps per user frame (its
 *    own mapping for copy-in/out and the process's), 2^18 slots = 8 MiB CNode.
 *  - Printing and DEBUG_BUILD only for DEBUG=1 builds (the Makefile defines
 *    DEBUG, CONFIG_DEBUG_BUILD and USER_STACK_TRACE_LENGTH itself).
 */
#define AUTOCONF_INCLUDED
#define CONFIG_ARCH_X86 1
#define CONFIG_ARCH_X86_64 1
#define CONFIG_PLAT_PC99 1
#define CONFIG_WORD_SIZE 64
#define CONFIG_HAVE_FPU 1
#define CONFIG_FXSAVE 1
#define CONFIG_XSAVE_SIZE 512
#define CONFIG_FPU_MAX_RESTORES_SINCE_SWITCH 64
#define CONFIG_SYSCALL 1
#define CONFIG_IRQ_IOAPIC 1
#define CONFIG_MAX_NUM_IOAPIC 1
#define CONFIG_XAPIC 1
#define CONFIG_FSGSBASE_INST 1
#define CONFIG_HUGE_PAGE 1
#define CONFIG_MAX_NUM_NODES 1
#define CONFIG_NUM_PRIORITIES 256
#define CONFIG_NUM_DOMAINS 1
#define CONFIG_DOMAIN_SCHEDULE ""
#define CONFIG_ROOT_CNODE_SIZE_BITS 18
#define CONFIG_TIMER_TICK_MS 2
#define CONFIG_TIME_SLICE 5
#define CONFIG_RETYPE_FAN_OUT_LIMIT 256
#define CONFIG_MAX_NUM_BOOTINFO_UNTYPED_CAPS 230
#define CONFIG_MAX_NUM_WORK_UNITS_PER_PREEMPTION 100
#define CONFIG_MAX_RMRR_ENTRIES 32
#define CONFIG_CACHE_LN_SZ 64
#define CONFIG_KERNEL_STACK_BITS 12
#define CONFIG_FASTPATH 1
#ifdef DEBUG
#define CONFIG_PRINTING 1
#endif
