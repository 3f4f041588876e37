-- Whole-slide analyses: one analysis box whose nuclei arrive region by region.
-- A whole-slide box holds (for the overlap rule) only the regions it has stored,
-- not its whole rectangle, until they are all there (core/store.py).
ALTER TABLE analysis_boxes ADD COLUMN IF NOT EXISTS whole_slide boolean NOT NULL DEFAULT false;
-- The area of a whole-slide box's stored regions, level-0 px^2: its area and
-- density are the analysed tissue's, not the slide's glass included. NULL for
-- a viewport box, whose area is its rectangle's.
ALTER TABLE analysis_boxes ADD COLUMN IF NOT EXISTS analysed_px double precision
    CHECK (analysed_px >= 0);

-- The regions of a whole-slide analysis that are stored, each written in the
-- transaction that stored its nuclei (so a row means: all its nuclei are in).
CREATE TABLE IF NOT EXISTS slide_analysis_regions (
    box_id       uuid NOT NULL REFERENCES analysis_boxes (id) ON DELETE CASCADE,
    -- The job (common/jobs, table jobs of this schema) that planned the region.
    job_id       uuid NOT NULL,
    -- Position in the job's plan (0-based, row-major).
    region_index integer NOT NULL CHECK (region_index >= 0),
    x_min        double precision NOT NULL,
    y_min        double precision NOT NULL,
    x_max        double precision NOT NULL,
    y_max        double precision NOT NULL,
    nuclei       bigint NOT NULL CHECK (nuclei >= 0),
    stored_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (box_id, region_index),
    CHECK (x_min < x_max AND y_min < y_max)
);

CREATE INDEX IF NOT EXISTS slide_analysis_regions_job_idx ON slide_analysis_regions (job_id);
