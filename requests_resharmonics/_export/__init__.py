"""Reading whole collections: in order, checked, concurrent and cancellable."""
