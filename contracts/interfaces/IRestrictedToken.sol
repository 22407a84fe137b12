// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC1404} from "./IERC1404.sol";

/// @title The issuer powers of a restricted token that other contracts (the adjudicator) rely on.
/// @author Clearline
/// @notice ERC-20 and ERC-1404, plus the controller and freeze views and the custodial release check;
/// its ERC-165 id tells a restricted token from a plain ERC-20.
interface IRestrictedToken is IERC20, IERC1404 {
    /// @notice Whether `account` may force transfers and recover a frozen holder's tokens.
    /// @param account The account.
    /// @return True for a controller.
    function isController(address account) external view returns (bool);

    /// @notice Whether `account` is frozen by the issuer.
    /// @param account The account.
    /// @return True when frozen.
    function isFrozen(address account) external view returns (bool);

    /// @notice The restriction code for a custodian (the caller holds the tokens) releasing `value` of
    /// `from`'s tokens to `to`: every rule as for a transfer from `from` to `to` — paused, sender frozen,
    /// receiver frozen, sender eligible, receiver eligible, sender lock-up, accreditation, country, maximum
    /// balance — except the sender's own balance (the tokens sit with the custodian).
    /// @dev Neither `from` nor `to` is treated as a custodian, even if it holds a CUSTODIAN attribute:
    /// they are the beneficial parties. Reverts with `InvalidCustodialRelease` when either is zero.
    /// @param from The beneficial owner whose tokens the custodian releases.
    /// @param to The receiver.
    /// @param value The amount in base units.
    /// @return The first failing ERC-1404 code, or 0.
    function detectCustodialTransferRestriction(address from, address to, uint256 value) external view returns (uint8);
}
