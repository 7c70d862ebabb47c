/// The fixed files of an exported project: the port layer, the host harness, the
/// Makefile and the README.
import SparrowPlanner

enum ProjectFiles {
    static let port = """
    /* sparrow_port.h — how an exported plan runs its kernels on a platform.
     *
     * Every kernel call of the plan is a function body(core_id, num_cores) that
     * computes its slice of the work; sparrow_parallel(body) must run it on cores
     * 0..SPARROW_NUM_CORES-1 and return when all have finished (fork-join). The
     * default below runs the cores one after the other, which gives the same
     * bits as a parallel run (each output element is computed by one core in a
     * fixed order).
     *
     * To run on a cluster, define SPARROW_PARALLEL(body) before including this
     * file (e.g. with -DSPARROW_PARALLEL=my_fork in CFLAGS), to a function that
     * forks body over the cluster's cores and joins, e.g. on PULP:
     *
     *   static void trampoline(void *arg) {
     *     ((void (*)(int, int))arg)(pi_core_id(), SPARROW_NUM_CORES);
     *   }
     *   void my_fork(void (*body)(int, int)) {
     *     pi_cl_team_fork(SPARROW_NUM_CORES, trampoline, (void *)body);
     *   }
     *
     * SPARROW_STEP_MARKER(step) is called before each plan step (the emulator
     * maps it to its step-marker register to profile steps); empty by default. */
    #ifndef SPARROW_PORT_H
    #define SPARROW_PORT_H

    #ifndef SPARROW_STEP_MARKER
    #define SPARROW_STEP_MARKER(step) ((void)0)
    #endif

    #ifdef SPARROW_PARALLEL
    void SPARROW_PARALLEL(void (*body)(int core_id, int num_cores));
    #define sparrow_parallel SPARROW_PARALLEL
    #else
    static inline void sparrow_parallel(void (*body)(int core_id, int num_cores)) {
      for (int core = 0; core < SPARROW_NUM_CORES; core++) body(core, SPARROW_NUM_CORES);
    }
    #endif

    #endif /* SPARROW_PORT_H */

    """

    static let harness = """
    /* main.c — host harness of an exported Sparrow plan.
     *
     *   ./train SAMPLES.bin STEPS OUT.bin [LEARNING_RATE]
     *
     * Trains STEPS steps, one sample each, cycling through the samples in file
     * order, and writes the per-step losses and the trained state. Files are
     * little-endian:
     *   SAMPLES.bin  "SPSM", u32 version (1), u32 count, u32 elements per sample,
     *                then per sample: f32[elements], i32 label
     *   OUT.bin      "SPRO", u32 version (1), u32 steps, f32 loss[steps],
     *                u32 tensors, then per tensor: u32 name bytes, name,
     *                u32 data bytes, data (the tensor as stored in the arena)
     *                and u32 skipped steps (FP16 overflow). */
    #include <stdint.h>
    #include <stdio.h>
    #include <stdlib.h>
    #include <string.h>

    #include "sparrow_model.h"

    static int fail(const char *what, const char *path) {
      fprintf(stderr, "error: %s: %s\\n", path, what);
      return 1;
    }

    static int read_u32(FILE *f, uint32_t *v) {
      uint8_t b[4];
      if (fread(b, 1, 4, f) != 4) return 0;
      *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
      return 1;
    }

    static void write_u32(FILE *f, uint32_t v) {
      uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
      fwrite(b, 1, 4, f);
    }

    int main(int argc, char **argv) {
      if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: %s SAMPLES.bin STEPS OUT.bin [LEARNING_RATE]\\n", argv[0]);
        return 2;
      }
      char *end = NULL;
      long steps = strtol(argv[2], &end, 10);
      if (*end != 0 || steps < 0 || steps > 100000000) return fail("STEPS must be a non-negative integer", argv[2]);
      FILE *in = fopen(argv[1], "rb");
      if (!in) return fail("cannot open", argv[1]);
      char magic[4];
      uint32_t version = 0, count = 0, elements = 0;
      if (fread(magic, 1, 4, in) != 4 || memcmp(magic, "SPSM", 4) != 0 || !read_u32(in, &version) || version != 1 ||
          !read_u32(in, &count) || !read_u32(in, &elements))
        return fail("not a Sparrow samples file (SPSM version 1)", argv[1]);
      if (elements != SPARROW_INPUT_ELEMENTS) return fail("samples have the wrong number of elements for this model", argv[1]);
      if (count == 0 && steps > 0) return fail("holds no samples", argv[1]);
      float *samples = malloc((size_t)count * elements * sizeof(float) + 1);
      int32_t *labels = malloc((size_t)count * sizeof(int32_t) + 1);
      if (!samples || !labels) return fail("out of memory", argv[1]);
      for (uint32_t i = 0; i < count; i++) {
        /* f32 and i32 fields are read as bytes: the host is little-endian, as the file. */
        if (fread(samples + (size_t)i * elements, sizeof(float), elements, in) != elements ||
            fread(labels + i, sizeof(int32_t), 1, in) != 1)
          return fail("is truncated", argv[1]);
      }
      fclose(in);
      sparrow_init();
      if (argc == 5) sparrow_set_learning_rate(strtof(argv[4], NULL));
      float *losses = malloc((size_t)steps * sizeof(float) + 1);
      if (!losses) return fail("out of memory", argv[3]);
      for (long s = 0; s < steps; s++) {
        uint32_t k = (uint32_t)(s % (long)(count ? count : 1));
        losses[s] = sparrow_train_step(samples + (size_t)k * elements, labels[k]);
      }
      FILE *out = fopen(argv[3], "wb");
      if (!out) return fail("cannot create", argv[3]);
      fwrite("SPRO", 1, 4, out);
      write_u32(out, 1);
      write_u32(out, (uint32_t)steps);
      fwrite(losses, sizeof(float), (size_t)steps, out);
      write_u32(out, (uint32_t)sparrow_state_count);
      for (int32_t t = 0; t < sparrow_state_count; t++) {
        uint32_t n = (uint32_t)strlen(sparrow_state[t].name);
        write_u32(out, n);
        fwrite(sparrow_state[t].name, 1, n, out);
        write_u32(out, sparrow_state[t].bytes);
        fwrite(sparrow_state[t].data, 1, sparrow_state[t].bytes, out);
      }
      write_u32(out, (uint32_t)sparrow_skipped_steps());
      if (fclose(out) != 0) return fail("cannot write", argv[3]);
      printf("%ld steps, last loss %g\\n", steps, steps > 0 ? (double)losses[steps - 1] : 0.0);
      free(samples);
      free(labels);
      free(losses);
      return 0;
    }

    """

    /// Numerics flags every build of the project uses (DESIGN.md invariant 1): no
    /// contraction into fused multiply-add, no fast math; the arena is accessed
    /// through typed pointers, so strict aliasing is off.
    static let numericsFlags = "-std=c11 -ffp-contract=off -fno-fast-math -fno-math-errno -fno-strict-aliasing"

    static func makefile(modelName: String, cores: Int, target: Target?) -> String {
        var text = """
        # Makefile — generated by Sparrow for '\(commentSafe(modelName))'.
        #   make host     ./train, the host harness (main.c), with $(CC) (default cc); make -j works
        """
        if let t = target {
            text += """

            #   make rv32     sparrow.elf for target '\(commentSafe(t.name))' with $(RV32_CC) (the clang beside swift), freestanding,
            #                 linked by ld.lld with rv32/link.ld (the target's flash, L2 and L1); samples.bin is linked in
            """
        }
        text += """

        #   make clean
        # The numerics flags are part of the contract: every build of these sources
        # gives the same bits as Sparrow's native runtime.

        CC ?= cc
        NUMERICS = \(numericsFlags)
        WARNINGS = -Wall -Wextra -Werror
        CFLAGS ?= -O2
        CORES ?= \(cores)
        INCLUDES = -Ikernels -Ikernels/include -I.
        KERNEL_HEADERS = $(wildcard kernels/*.h kernels/include/*.h)
        HEADERS = $(KERNEL_HEADERS) sparrow_model.h sparrow_port.h
        HOST = build/host
        HOST_OBJECTS = $(patsubst %.c,$(HOST)/%.o,$(wildcard kernels/*.c) sparrow_model.c main.c)

        .PHONY: host rv32 clean

        host: train

        train: $(HOST_OBJECTS)
        \t$(CC) $(CFLAGS) $(HOST_OBJECTS) -o $@

        # The kernels depend on their own headers only (they are the same in every export).
        $(HOST)/kernels/%.o: kernels/%.c $(KERNEL_HEADERS)
        \t@mkdir -p $(dir $@)
        \t$(CC) $(CFLAGS) $(NUMERICS) $(WARNINGS) $(INCLUDES) -c $< -o $@

        $(HOST)/%.o: %.c $(HEADERS) Makefile
        \t@mkdir -p $(dir $@)
        \t$(CC) $(CFLAGS) $(NUMERICS) $(WARNINGS) -DSPARROW_NUM_CORES=$(CORES) $(INCLUDES) -c $< -o $@

        """
        if let t = target {
            text += """

            RV32_CC ?= clang
            RV32 = build/rv32
            RV32_FLAGS = --target=riscv32-unknown-elf -march=\(t.march) -mabi=\(t.mabi) -mno-relax -ffreestanding -fno-builtin -nostdlib -include rv32/platform.h
            RV32_OBJECTS = $(patsubst %.c,$(RV32)/%.o,$(wildcard kernels/*.c) sparrow_model.c rv32/main.c rv32/libc.c rv32/cluster.c) $(RV32)/rv32/start.o $(RV32)/rv32/samples.o

            rv32: sparrow.elf

            sparrow.elf: $(RV32_OBJECTS) rv32/link.ld
            \t$(RV32_CC) $(RV32_FLAGS) -fuse-ld=lld -Wl,-T,rv32/link.ld -Wl,--gc-sections $(RV32_OBJECTS) -o $@

            $(RV32)/kernels/%.o: kernels/%.c $(KERNEL_HEADERS) rv32/platform.h
            \t@mkdir -p $(dir $@)
            \t$(RV32_CC) $(CFLAGS) $(NUMERICS) $(WARNINGS) $(RV32_FLAGS) -ffunction-sections -fdata-sections $(INCLUDES) -c $< -o $@

            $(RV32)/%.o: %.c $(HEADERS) rv32/platform.h Makefile
            \t@mkdir -p $(dir $@)
            \t$(RV32_CC) $(CFLAGS) $(NUMERICS) $(WARNINGS) $(RV32_FLAGS) -ffunction-sections -fdata-sections -DSPARROW_NUM_CORES=$(CORES) $(INCLUDES) -c $< -o $@

            $(RV32)/rv32/start.o: rv32/start.S rv32/platform.h
            \t@mkdir -p $(dir $@)
            \t$(RV32_CC) $(RV32_FLAGS) -c $< -o $@

            $(RV32)/rv32/samples.o: rv32/samples.S samples.bin
            \t@mkdir -p $(dir $@)
            \t$(RV32_CC) $(RV32_FLAGS) -c $< -o $@

            # No samples yet: an empty samples file (the harness then only initialises).
            samples.bin:
            \tprintf 'SPSM\\001\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000\\000' > $@

            """
        }
        text += """

        clean:
        \trm -rf build train\(target == nil ? "" : " sparrow.elf")

        """
        return text
    }

    static func readme(modelName: String, precision: String, arena: Int, flash: Int) -> String {
        """
        # \(commentSafe(modelName)): an exported Sparrow training plan

        Generated by `sparrow export`. Everything the device needs to fine-tune
        `\(commentSafe(modelName))` (\(precision)) one sample at a time, in \(arena) bytes of SRAM
        (the arena) and \(flash) bytes of frozen weights:

        - `kernels/`: Sparrow's C kernel library, byte for byte the sources the
          host runtime is built from.
        - `sparrow_model.h`, `sparrow_model.c`: the plan. A static arena of
          exactly the planned peak SRAM, the frozen weights as a const flash
          image, the initial values of the trainable parameters, and one function
          per kernel call, named after the plan's tensors and commented with the
          schedule step and arena offset.
        - `sparrow_port.h`: the fork-join shim (serial by default) and the
          step-marker hook.
        - `main.c`: a host harness that trains on a samples file.

        ## API

        ```c
        #include "sparrow_model.h"
        sparrow_init();                                  // parameters to their exported values
        float loss = sparrow_train_step(x, label);      // x: SPARROW_INPUT_ELEMENTS floats
        sparrow_infer(x, scores);                        // scores: SPARROW_OUTPUT_ELEMENTS floats
        sparrow_set_learning_rate(0.005f);
        ```

        Nothing allocates; the functions are not reentrant. `sparrow_state[]` lists
        the trainable tensors and optimizer state (name, address, bytes), e.g. to
        save them to flash after training.

        ## Build

        ```sh
        make host                 # ./train with the host compiler (CC=clang make host for clang)
        ./train samples.bin 100 trained.bin 0.01
        ```

        The numerics flags in the Makefile (`\(numericsFlags)`) are
        required: with them, any C11 compiler gives the bits Sparrow's native runtime
        gives.

        ## Into a firmware

        Compile `kernels/*.c` and `sparrow_model.c` with the flags above and your
        target flags, and call the API from your application. To use several
        cores, define `SPARROW_PARALLEL` to your platform's fork-join (see
        `sparrow_port.h`, which shows PULP's `pi_cl_team_fork`) and
        `SPARROW_NUM_CORES` to at most the cores the plan was exported for.
        Define `SPARROW_STEP_MARKER(step)` to trace plan steps. The arena
        (`sparrow_arena`, .bss) must be in fast SRAM; the flash image
        (`sparrow_flash`, .rodata) can stay in flash.

        """
    }
}
