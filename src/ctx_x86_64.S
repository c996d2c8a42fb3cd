/* x86-64 System V context switch: callee-saved registers, the x87 control
 * word and MXCSR (both callee-saved by the ABI) go on the stack; only the
 * stack pointer is stored in the context.
 *   void rsock__ctx_switch(rsock__ctx *from (rdi), rsock__ctx *to (rsi)) */
    .text
    .globl rsock__ctx_switch
    .hidden rsock__ctx_switch
    .type rsock__ctx_switch, @function
rsock__ctx_switch:
    .cfi_startproc
    pushq %rbp
    .cfi_adjust_cfa_offset 8
    pushq %rbx
    .cfi_adjust_cfa_offset 8
    pushq %r12
    .cfi_adjust_cfa_offset 8
    pushq %r13
    .cfi_adjust_cfa_offset 8
    pushq %r14
    .cfi_adjust_cfa_offset 8
    pushq %r15
    .cfi_adjust_cfa_offset 8
    subq $8, %rsp
    .cfi_adjust_cfa_offset 8
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq (%rsi), %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    .cfi_adjust_cfa_offset -8
    popq %r15
    .cfi_adjust_cfa_offset -8
    popq %r14
    .cfi_adjust_cfa_offset -8
    popq %r13
    .cfi_adjust_cfa_offset -8
    popq %r12
    .cfi_adjust_cfa_offset -8
    popq %rbx
    .cfi_adjust_cfa_offset -8
    popq %rbp
    .cfi_adjust_cfa_offset -8
    ret
    .cfi_endproc
    .size rsock__ctx_switch, .-rsock__ctx_switch
    .section .note.GNU-stack, "", @progbits
