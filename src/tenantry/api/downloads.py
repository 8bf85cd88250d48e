"""Signed report downloads: plain HTTP, no token, streamed from the database chunk by chunk."""

from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from tenantry.api.errors import error_response
from tenantry.api.relay import decode_id
from tenantry.db.engine import Database
from tenantry.reports import repository as repo
from tenantry.reports import service
from tenantry.reports.models import ReportStatus

CHUNKS_PER_READ = 8


async def download_usage_report(request: Request) -> Response:
    db: Database = request.app.state.db
    report_id = decode_id(request.path_params["report_id"], "UsageReport")
    valid = await service.verify_link(
        db,
        report_id,
        request.query_params.get("expires", ""),
        request.query_params.get("signature", ""),
    )
    if not valid:
        return error_response(403, "This link is not valid, or it has expired.", "FORBIDDEN")
    async with db.read() as session:
        report = await repo.get_unscoped(session, report_id)
    if report is None:
        # The signature proves it existed: it was deleted after its retention.
        return error_response(410, "This report has expired and was deleted.", "GONE")
    if report.status is not ReportStatus.SUCCEEDED:
        return error_response(404, "No such report.", "NOT_FOUND")

    async def body() -> AsyncIterator[bytes]:
        seq = 0
        while True:
            # A short read per few chunks: no transaction stays open while a slow client reads.
            async with db.read() as session:
                chunks = await repo.chunks_from(session, report_id, seq, CHUNKS_PER_READ)
            if not chunks:
                return
            for seq, data in chunks:  # noqa: B007 - seq carries over to the next read
                yield data
            seq += 1

    filename = (
        f"usage-report-{report_id}-{report.period_start:%Y%m%d}-{report.period_end:%Y%m%d}.csv"
    )
    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Content-Length": str(report.byte_size or 0),
            "Cache-Control": "private, no-store",
        },
    )
