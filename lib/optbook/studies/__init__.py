"""Chapter studies: the experiments of one paper, composed from tasks, optimizers and the runner."""
