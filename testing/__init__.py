"""Test data with known answers, shared by tests/ and benchmarks/; never shipped
(the wheel and the images carry only micrographia, common, services, edge, cli).

- `synthetic_tiff`: any-size T x C OME-TIFF, written plane by plane.
- `synthetic_movie`: movies of cells with known truth (moving, late, missing, dividing).
- `scoring`: segmentation precision/recall/F1 and CTC TRA/DET/LNK (traccuracy).
- `oracle`, `oracle_network`: a model with known answers (painted nuclei in,
  HoVerNet's ideal maps out), as a `Predictor` and as a HoVerNet module any engine runs.
- `cellpose_oracle`: the same for Cellpose (painted cells in, Cellpose's own
  masks-to-flows out), as a `FlowPredictor` and as a network Cellpose's `eval` runs.
- `networks`: real networks cut to test size (Cellpose-SAM with two of its 24 blocks).
"""
