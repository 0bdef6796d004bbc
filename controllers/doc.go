// Package controllers holds one package per reconciled kind: remotecluster (connect, probe, report
// readiness of DR clusters) and replication (ClusterReplication and Replication passes).
package controllers
