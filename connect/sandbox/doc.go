// Package sandbox installs and runs a local Apache Spark Connect server for
// development and tests.
//
// The sandbox is a single Spark driver in local mode, started with
// spark-submit from a pip-installed pyspark distribution, listening on the
// loopback interface only and protected by a random pre-shared token.
//
// # Installation
//
// A [Profile] names a Spark line and a table format; [SupportedProfiles]
// lists the ones the sandbox can run and [DefaultProfile] is used when none
// is named. [Lines] pins the pyspark release of each line and connector.go
// the connector jars of each lakehouse format, with their SHA-256.
//
// [Install] creates a Python virtual environment under the cache directory
// ([CacheDir], "$SDP_MCP_CACHE" or the user cache directory) per Spark line
// ("pyspark-<version>", side by side) and installs that pyspark release with
// the connect and pipelines extras into it. The install is built in a
// temporary directory and renamed into place, so a half-finished install is
// never visible; a file lock makes concurrent calls from several processes
// safe, and a finished install is reused. The format's jars are fetched
// once into "<cache>/jars" (see [JarDir]) and checked against their pinned
// checksums on every use, so a filled cache works offline.
//
// Build scripts and documentation should ask the binary ("sdp-mcp sandbox
// spark-version") instead of repeating a version.
//
// # Running
//
// [Start] launches the server for a workspace (see [ResolveWorkspace]). All
// runtime files live under "<workspace>/sandbox/":
//
//	state.json         pid, port, token, ... of the running server (mode 0600)
//	server.log         stdout and stderr of the server, appended per run
//	lock               serialises Start and Stop
//	warehouse/         spark.sql.warehouse.dir
//	metastore/         Derby home of the Hive metastore
//	pipeline-storage/  storage root for declarative pipelines
//	tmp/               Spark scratch space (SPARK_LOCAL_DIRS)
//	<format>/          warehouse/, metastore/ and pipeline-storage/ of a
//	                   lakehouse format (delta): one warehouse never mixes
//	                   formats
//
// A server running another profile than the one asked for is restarted.
//
// The server is started in its own session (and so its own process group),
// so it outlives the process that started it. A later [Start] for the same
// workspace reuses a server that is alive and answering; [Stop] terminates
// the whole process group; [Status] reports whether the server is running.
//
// Tables are kept in a Hive metastore backed by Derby inside the workspace,
// so tables created in one run are still there after a restart.
//
// The token is handed to the server through the environment
// (SPARK_CONNECT_AUTHENTICATE_TOKEN), never on the command line. Clients send
// it as "authorization: Bearer <token>"; [Instance.URL] returns a Spark
// Connect URL with the token for our Go client, and [Instance.PyURL] one that
// pyspark accepts over plaintext (pyspark only sends a token without TLS when
// the host is literally "localhost").
package sandbox
