-- Visible nuclei counted per 64 x 64 px cell of the level-0 grid, per cell type:
-- region statistics sum the cells a rectangle holds whole and count nuclei one
-- by one only in the strips along its edges. Kept exact by the store whenever
-- a box is inserted or deleted (core/store.py); cx = floor(x / 64), cy = floor(y / 64).
CREATE TABLE IF NOT EXISTS nucleus_cells (
    slide_id uuid NOT NULL,
    cy       integer NOT NULL,
    cx       integer NOT NULL,
    n0       integer NOT NULL,
    n1       integer NOT NULL,
    n2       integer NOT NULL,
    n3       integer NOT NULL,
    n4       integer NOT NULL,
    n5       integer NOT NULL,
    PRIMARY KEY (slide_id, cy, cx)
);
