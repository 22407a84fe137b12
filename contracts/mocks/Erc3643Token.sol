// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title A token that exposes only the ERC-3643 (T-REX) registry getters, for tests only.
contract Erc3643Token is ERC20 {
    address private immutable _IDENTITY_REGISTRY;
    address private immutable _COMPLIANCE;

    /// @param identityRegistry_ The identity registry it reports.
    /// @param compliance_ The compliance contract it reports.
    constructor(address identityRegistry_, address compliance_) ERC20("T-REX Security", "TREX") {
        _IDENTITY_REGISTRY = identityRegistry_;
        _COMPLIANCE = compliance_;
    }

    /// @notice ERC-3643: the identity registry the token checks receivers against.
    /// @return registry The registry's address.
    function identityRegistry() external view returns (address registry) {
        return _IDENTITY_REGISTRY;
    }

    /// @notice ERC-3643: the modular compliance contract the token consults.
    /// @return compliance_ The compliance contract's address.
    function compliance() external view returns (address compliance_) {
        return _COMPLIANCE;
    }
}
