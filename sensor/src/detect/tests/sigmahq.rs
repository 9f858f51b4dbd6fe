//! SigmaHQ Linux corpus: loading, samples, and the compatibility list.
