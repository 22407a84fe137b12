// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title A token that claims to be restricted (ERC-165) but whose compliance check reverts, for
/// adjudicator tests only.
/// @author Clearline
/// @notice Its deployer is its controller; it never freezes anyone.
contract UnansweringRestrictedToken is ERC20 {
    address private immutable CONTROLLER;

    /// @notice The compliance check cannot answer.
    error Unavailable();

    constructor() ERC20("Unanswering", "NOPE") {
        CONTROLLER = msg.sender;
    }

    /// @notice Mints `amount` to `to`; anyone may call it (test token).
    /// @param to The receiver.
    /// @param amount The amount.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Claims every interface, IRestrictedToken included.
    /// @return Always true.
    function supportsInterface(bytes4) external pure returns (bool) {
        return true;
    }

    /// @notice Always reverts.
    /// @return Never returns.
    function detectCustodialTransferRestriction(address, address, uint256) external pure returns (uint8) {
        revert Unavailable();
    }

    /// @notice Whether `account` is the deployer.
    /// @param account The account.
    /// @return True for the deployer.
    function isController(address account) external view returns (bool) {
        return account == CONTROLLER;
    }

    /// @notice Nobody is frozen.
    /// @return Always false.
    function isFrozen(address) external pure returns (bool) {
        return false;
    }
}
