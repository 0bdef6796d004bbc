// Package controllers holds one package per reconciled kind (RemoteCluster, ClusterReplication,
// Replication). The replication controllers land with the mirroring engine.
package controllers
