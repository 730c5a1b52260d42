"""MyMONIT adapters: publishers that turn outside input into measure messages."""
