# Production image: slim Python, non-root user, `lms serve` as the command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    LMS_DATA_DIR=/data LMS_CONTENT_DIR=/app
WORKDIR /app

COPY pyproject.toml requirements.lock README.md ./
COPY app ./app
RUN pip install -c requirements.lock . && pip uninstall -y pip setuptools || true

COPY alembic.ini ./
COPY alembic ./alembic
COPY courses ./courses
COPY quizzes ./quizzes
COPY certificates ./certificates

RUN useradd --system --uid 10001 --home-dir /data lms && mkdir -p /data && chown lms /data
USER lms
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"

CMD ["lms", "serve", "--host", "0.0.0.0", "--port", "8000"]
