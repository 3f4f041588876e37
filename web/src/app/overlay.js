// What the viewer draws over the slide: nuclei (coloured by type), analysis
// boxes, the rectangle being drawn, and the scale bar. Image (level-0) pixels
// map to screen pixels by one scale and offset, computed once per frame.

// PanNuke's five types (HoVerNet's "fast" model) and background.
export const CELL_TYPES = [
  { id: 0, name: "Background", color: "#9e9e9e" },
  { id: 1, name: "Neoplastic", color: "#e53935" },
  { id: 2, name: "Inflammatory", color: "#43a047" },
  { id: 3, name: "Connective", color: "#1e88e5" },
  { id: 4, name: "Dead", color: "#fdd835" },
  { id: 5, name: "Non-Neoplastic Epithelial", color: "#fb8c00" },
];
export const typeColor = (id) => CELL_TYPES[id]?.color || "#ffffff";

const NUCLEUS_RADIUS_UM = 3; // a typical nucleus is 5-10 µm across

export class SlideOverlay {
  constructor(viewer, mpp) {
    this.viewer = viewer;
    this.mpp = mpp || 0.25;
    this.nuclei = [];
    this.showNuclei = true;
    this.boxes = [];
    this.selectedBox = null;
    this.draft = null; // {x, y, width, height} in image pixels, while drawing
    this.roi = null;
    this.canvas = document.createElement("canvas");
    this.canvas.className = "overlay-canvas";
    viewer.canvas.append(this.canvas);
    this.scaleBar = document.createElement("div");
    this.scaleBar.className = "scale-bar";
    this.scaleBar.innerHTML = '<div class="scale-line"></div><span class="scale-text"></span>';
    viewer.container.append(this.scaleBar);
    this.redraw = this.redraw.bind(this);
    viewer.addHandler("update-viewport", this.redraw);
    viewer.addHandler("resize", this.redraw);
  }

  // Screen pixels per image pixel, and the screen position of image (0, 0).
  transform() {
    const { OpenSeadragon: OSD } = window;
    const origin = this.viewer.viewport.imageToViewerElementCoordinates(new OSD.Point(0, 0));
    const unit = this.viewer.viewport.imageToViewerElementCoordinates(new OSD.Point(1000, 0));
    return { scale: (unit.x - origin.x) / 1000, ox: origin.x, oy: origin.y };
  }

  redraw() {
    const { canvas } = this;
    const ratio = window.devicePixelRatio || 1;
    const width = this.viewer.canvas.clientWidth;
    const height = this.viewer.canvas.clientHeight;
    if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
      canvas.width = Math.round(width * ratio);
      canvas.height = Math.round(height * ratio);
      canvas.style.width = `${width}px`;
      canvas.style.height = `${height}px`;
    }
    const context = canvas.getContext("2d");
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, width, height);
    if (!this.viewer.world.getItemCount()) return;
    const { scale, ox, oy } = this.transform();
    const screen = (x, y) => [ox + x * scale, oy + y * scale];

    if (this.showNuclei && this.nuclei.length) {
      const radius = Math.max(1.5, (NUCLEUS_RADIUS_UM / this.mpp) * scale);
      // One path per type: 50,000 nuclei draw in a few milliseconds.
      const byType = new Map();
      for (const nucleus of this.nuclei) {
        const [sx, sy] = screen(nucleus.x, nucleus.y);
        if (sx < -radius || sy < -radius || sx > width + radius || sy > height + radius) continue;
        if (!byType.has(nucleus.cell_type)) byType.set(nucleus.cell_type, new Path2D());
        const path = byType.get(nucleus.cell_type);
        path.moveTo(sx + radius, sy);
        path.arc(sx, sy, radius, 0, 2 * Math.PI);
      }
      context.lineWidth = radius > 4 ? 2 : 1;
      for (const [type, path] of byType) {
        context.strokeStyle = typeColor(type);
        context.fillStyle = typeColor(type) + "55";
        context.fill(path);
        context.stroke(path);
      }
    }

    const rect = (r, color, dash = [], lineWidth = 2) => {
      const [x0, y0] = screen(r.x_min ?? r.x, r.y_min ?? r.y);
      const [x1, y1] = screen(r.x_max ?? r.x + r.width, r.y_max ?? r.y + r.height);
      context.setLineDash(dash);
      context.lineWidth = lineWidth;
      context.strokeStyle = color;
      context.strokeRect(x0, y0, x1 - x0, y1 - y0);
      context.setLineDash([]);
    };
    for (const box of this.boxes) {
      rect(box, box.id === this.selectedBox ? "#00e5ff" : "#ffffffcc", [], box.id === this.selectedBox ? 3 : 2);
    }
    if (this.roi) rect(this.roi, "#ffea00", [6, 4]);
    if (this.draft) rect(this.draft, "#ff4081", [4, 3]);
    this.updateScaleBar(scale);
  }

  // A bar of a round length (1, 2 or 5 × 10^n µm) about 120 screen pixels long.
  updateScaleBar(scale) {
    const umPerScreenPx = this.mpp / scale;
    const target = umPerScreenPx * 120;
    const power = 10 ** Math.floor(Math.log10(target));
    const nice = [5, 2, 1].map((step) => step * power).find((length) => length <= target) || power;
    const pixels = nice / umPerScreenPx;
    this.scaleBar.querySelector(".scale-line").style.width = `${pixels}px`;
    const label = nice >= 1000 ? `${nice / 1000} mm` : nice >= 1 ? `${nice} µm` : `${nice * 1000} nm`;
    this.scaleBar.querySelector(".scale-text").textContent = label;
    this.scaleBar.dataset.um = String(nice);
    this.scaleBar.dataset.px = pixels.toFixed(1);
  }

  destroy() {
    this.viewer.removeHandler("update-viewport", this.redraw);
    this.viewer.removeHandler("resize", this.redraw);
    this.canvas.remove();
    this.scaleBar.remove();
  }
}
