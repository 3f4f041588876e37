"""GET /jobs, GET /metrics, job status and its SSE stream, OpenAPI: real jobs in
the real services' databases, read through the edge."""

from __future__ import annotations

import json


def test_jobs_lists_active_jobs_of_every_service(edge, blocked_job):
    job_id, _ = blocked_job
    body = edge.get("/jobs").json()
    assert body["success"] is True
    listed = {job["job_id"]: job for job in body["data"]["active_jobs"]}
    assert listed[job_id]["status"] == "running"
    assert listed[job_id]["progress"] == 30.0
    assert listed[job_id]["service"] == "microscopy"
    assert listed[job_id]["started_at"].endswith("Z")
    assert body["data"]["total_active"] == len(listed)


def test_metrics_counts_jobs_and_reads_the_machine(edge, blocked_job):
    body = edge.get("/metrics").json()
    assert body["jobs"]["active"] >= 1
    assert body["memory"]["total_gb"] > 0
    assert 0 <= body["cpu"]["usage_percent"] <= 100
    assert len(body["cpu"]["load_average"]) == 3
    assert body["timestamp"].endswith("Z")


def test_workflow_status_has_the_documented_shape(edge, blocked_job):
    job_id, _ = blocked_job
    body = edge.get(f"/api/processing/workflow/status/{job_id}").json()
    data = body["data"]
    assert data["job_id"] == job_id
    assert data["status"] == "running"
    progress = data["progress"]
    assert (progress["current_fov"], progress["total_fovs"], progress["percentage"]) == (
        3,
        10,
        30.0,
    )
    assert progress["current_step"] == "segmentation"
    assert data["started_at"].endswith("Z") and data["updated_at"].endswith("Z")


def test_workflow_events_stream_progress_until_the_end(edge, blocked_job):
    job_id, release = blocked_job
    events = []
    with edge.stream("GET", f"/api/processing/workflow/events/{job_id}") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
                if len(events) == 1:
                    release()
    assert events[0]["status"] == "running"
    assert events[-1]["status"] == "completed"
    assert events[-1]["progress"]["percentage"] == 100.0


def test_events_for_an_unknown_job_fail_before_streaming(edge):
    response = edge.get("/api/processing/workflow/events/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert response.json()["error_code"] == "JOB_NOT_FOUND"


def test_openapi_documents_the_api(edge):
    assert edge.get("/docs").status_code == 200
    paths = edge.get("/openapi.json").json()["paths"]
    assert "/api/processing/load-metadata" in paths
    assert "/api/slides/{slide_id}/dzi_files/{level}/{col}_{row}.jpeg" in paths
