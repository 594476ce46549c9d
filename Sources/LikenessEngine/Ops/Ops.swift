// Namespace for the engine's tensor operations. Each op lives in its own file
// whose first line names the PyTorch function it matches.

/// Tensor operations matching PyTorch CPU float32 semantics (see each file's header).
public enum Ops {}
