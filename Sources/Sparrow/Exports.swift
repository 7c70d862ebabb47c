// The public API of Sparrow: one import gives the IR, autodiff, planner, runtime, export and data.
@_exported import SparrowAutodiff
@_exported import SparrowData
@_exported import SparrowEmulator
@_exported import SparrowExport
@_exported import SparrowIR
@_exported import SparrowPlanner
@_exported import SparrowRuntime
