"""The package version, which the contract writes into every manifest it makes."""

__version__ = "0.1.0"
