# The local runtime image used by docker-compose.yml (not the Lambda package).
# Same minor version as the Lambda runtime (.chalice/python-version).
FROM python:3.13-slim
WORKDIR /app
COPY requirements.txt requirements-dev.txt ./
RUN pip install --no-cache-dir 'pip<26.3' && pip install --no-cache-dir -r requirements-dev.txt
COPY . .
ENV LOG_FORMAT=console
EXPOSE 8000
