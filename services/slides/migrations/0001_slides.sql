-- The slides registry. Run with search_path set to the service's schema
-- (common/db.apply_migrations does SET LOCAL search_path TO slides).
CREATE TABLE IF NOT EXISTS slides (
    id              uuid PRIMARY KEY,
    filename        text NOT NULL,
    stored_path     text NOT NULL UNIQUE,
    mpp             double precision NULL CHECK (mpp IS NULL OR mpp > 0),
    mpp_y           double precision NULL CHECK (mpp_y IS NULL OR mpp_y > 0),
    width_px        bigint NOT NULL CHECK (width_px > 0),
    height_px       bigint NOT NULL CHECK (height_px > 0),
    vendor          text NOT NULL,
    objective_power double precision NULL,
    level_count     integer NOT NULL CHECK (level_count > 0),
    -- Every level as {"width", "height", "downsample"}, level 0 first: the slide
    -- list shows the pyramid without opening each slide.
    levels          jsonb NOT NULL DEFAULT '[]'::jsonb,
    size_bytes      bigint NOT NULL CHECK (size_bytes >= 0),
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- The slide list is shown newest first.
CREATE INDEX IF NOT EXISTS slides_created_at_idx ON slides (created_at DESC);
