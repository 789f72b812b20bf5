# The local runtime image used by docker-compose.yml (not the Lambda package).
FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt requirements-dev.txt ./
RUN pip install --no-cache-dir 'pip<26.3' && pip install --no-cache-dir -r requirements-dev.txt
COPY . .
ENV LOG_FORMAT=console
EXPOSE 8000
