// Sparrow: compile-time training plans for small CNNs on microcontrollers.
//
// `import Sparrow` is the whole public API. It re-exports the lower modules below and
// adds the tools built on them. Entry points, in the order a workflow uses them:
//
// - Models: `ModelZoo` builds the shipped architectures in code (`ModelZoo.names`,
//   `ModelZoo.model(named:seed:)`); `ModelFile.load(architecture:weights:seed:)` reads
//   JSON + safetensors; `ModelSummary` lists layers, parameters and MACs.
// - Compile a plan: `compilePlan(_:options:)` with `CompileOptions` (an `UpdateSpec`
//   such as `DefaultSpecs.sparse(for:)`, optimizer, precision, SRAM budget) gives a
//   `TrainingPlan`; `PlanReport` and `MemoryTimeline.svg(_:)` show its memory.
// - Train: `Trainer` with `TrainingOptions` runs a plan natively on the host
//   (`trainEpoch`, `evaluate`); `TrainingCurve` charts the run.
// - Export: `exportProject(_:model:to:options:)` writes a self-contained C project
//   for a plan: a host build, plus an rv32 build when `ExportOptions.target` is set.
// - Emulate: `emulatePlan(_:model:samples:labels:steps:target:...)` builds the rv32
//   image of an exported plan and runs it in the cycle-level emulator (`Machine`)
//   for a `Target`, returning an `EmulationResult`.
// - Profile: `PlanProfile` (from `emulatePlan(..., profile: true)`) gives cycles and
//   energy per plan step; `ProfileCache` keeps profiles on disk; `tuneKernels`
//   picks the fastest kernel variant per step; `EnergyCalibration` checks the
//   energy model against a chip's published efficiency.
// - Search: `SpecSearch` finds the sparse-update spec that gains the most
//   accuracy within an SRAM budget.
@_exported import SparrowAutodiff
@_exported import SparrowData
@_exported import SparrowEmulator
@_exported import SparrowExport
@_exported import SparrowIR
@_exported import SparrowPlanner
@_exported import SparrowRuntime
