FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY . .
RUN pip install --no-cache-dir . && SECRET_KEY=build FIELD_ENCRYPTION_KEYS=ZGV2LW9ubHktZmllbGQta2V5LWRvLW5vdC11c2UtISE= \
    python manage.py collectstatic --noinput
RUN useradd --create-home app && mkdir -p /app/var && chown -R app /app/var
USER app
EXPOSE 8000
CMD ["gunicorn", "creatorflow.wsgi:application", "--bind", "0.0.0.0:8000"]
