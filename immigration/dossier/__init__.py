"""The dossier: documents, photo and signature of an application, stored encrypted in the
database and received through resumable tus uploads."""
