# Graft's image: the same jar and lib/ that ./graft runs. Not built here (no Docker engine on the
# machines this project is developed on); see README, "Docker".
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY . .
RUN mvn -B -q -DskipTests package -pl app -am

FROM eclipse-temurin:17-jre
# npm fetches the pretrained network (npm package nsfwjs) into the model cache on first use;
# curl runs the compose health checks against --metrics-port's /health.
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/graft --create-home graft
COPY --from=build /src/app/target/graft-app.jar /opt/graft/graft-app.jar
COPY --from=build /src/app/target/lib /opt/graft/lib
USER graft
# GLIBC_TUNABLES: as ./graft sets it (freed malloc blocks stay mapped; README, "glibc malloc").
ENV GRAFT_HOME=/var/lib/graft \
    GLIBC_TUNABLES=glibc.malloc.top_pad=67108864:glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296 \
    JDK_JAVA_OPTIONS="-XX:+IgnoreUnrecognizedVMOptions --add-opens=java.base/java.nio=ALL-UNNAMED -Dorg.bytedeco.javacpp.maxphysicalbytes=6g"
VOLUME /var/lib/graft
ENTRYPOINT ["java", "-jar", "/opt/graft/graft-app.jar"]
CMD ["--help"]
