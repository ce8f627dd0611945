package sandbox

// Connector is what a table format adds to a Spark install: pinned jars
// (each with its SHA-256) and the server configuration that turns them on.
type Connector struct {
	Name string // e.g. "Delta Lake 4.4.0"
	Jars []Jar
	// Conf is passed to the server as --conf key=value.
	Conf [][2]string
}

// Jar is one pinned Maven artifact.
type Jar struct {
	Group    string
	Artifact string
	Version  string
	SHA256   string // hex digest of the jar file
}

// File is the jar's file name.
func (j Jar) File() string { return j.Artifact + "-" + j.Version + ".jar" }

// Coordinates are group:artifact:version.
func (j Jar) Coordinates() string { return j.Group + ":" + j.Artifact + ":" + j.Version }

// delta44 is Delta Lake 4.4.0 for Spark 4.2. delta-spark's other
// dependencies (the Delta kernel, the Unity Catalog client and their
// libraries) serve catalog-managed tables only; the sandbox's path- and
// metastore-based tables need these two jars on top of Spark's own.
var delta44 = Connector{
	Name: "Delta Lake 4.4.0",
	Jars: []Jar{
		{Group: "io.delta", Artifact: "delta-spark_4.2_2.13", Version: "4.4.0",
			SHA256: "27d4fd8b1f879535c573ed1c718177d6a27f24d3e626ba02e216369725721ead"},
		{Group: "io.delta", Artifact: "delta-storage", Version: "4.4.0",
			SHA256: "c46735481fa8e326b0957be02b4420cbcab4b325bb08009b7f2045a95133f1cc"},
	},
	Conf: [][2]string{
		{"spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension"},
		{"spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog"},
		{"spark.sql.sources.default", "delta"},
	},
}
