// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title An ERC-20 that attacks whoever moves it, for adjudicator tests only.
/// @notice When `victim` transfers tokens out it can re-enter `victim` with `reentryCall`, revert,
/// return false, or burn all the gas it is given. In `Reenter` mode it also re-enters when `victim`
/// pulls tokens in with `transferFrom` (a deposit), before the tokens move. It re-enters once at a
/// time (transfers made inside the re-entrant call are honest) and records how the call ended. The
/// token can itself be a channel participant: `act` makes it call the victim as `msg.sender`.
contract HostileToken is ERC20 {
    /// @notice What the token does when `victim` moves tokens.
    enum Mode {
        Honest,
        Reenter,
        Revert,
        ReturnFalse,
        BurnGas
    }

    Mode private _mode;
    address private _victim;
    bytes private _reentryCall;
    bool private _reentering;
    uint256 private _reentryAttempts;
    bool private _reentrySucceeded;
    bytes private _lastReentryError;

    /// @notice The token refused a transfer (mode `Revert`).
    error Refused();
    /// @notice A call made through `act` reverted with `reason`.
    error ActFailed(bytes reason);

    constructor() ERC20("Hostile", "HOST") {}

    /// @notice Mints `amount` to `to`; anyone may call it (test token).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Arms the token against `victim` and forgets earlier re-entry results.
    /// @param mode What to do when `victim` moves tokens.
    /// @param victim The contract to attack.
    /// @param reentryCall The calldata of the re-entrant call (mode `Reenter`).
    function arm(Mode mode, address victim, bytes calldata reentryCall) external {
        _mode = mode;
        _victim = victim;
        _reentryCall = reentryCall;
        _reentryAttempts = 0;
        _reentrySucceeded = false;
        delete _lastReentryError;
    }

    /// @notice Calls `target` with `data` as this token (to act as a channel participant).
    /// @param target The contract to call.
    /// @param data The calldata.
    /// @param allowance What this token approves `target` to pull from it first.
    function act(address target, bytes calldata data, uint256 allowance) external {
        _approve(address(this), target, allowance);
        (bool ok, bytes memory reason) = target.call(data);
        if (!ok) revert ActFailed(reason);
    }

    /// @notice Whether a re-entrant call into the victim went through.
    /// @return succeeded True once a re-entrant call succeeded since the last `arm`.
    function reentrySucceeded() external view returns (bool succeeded) {
        return _reentrySucceeded;
    }

    /// @notice How many re-entrant calls were attempted since the last `arm`.
    /// @return attempts The count.
    function reentryAttempts() external view returns (uint256 attempts) {
        return _reentryAttempts;
    }

    /// @notice The revert data of the last re-entrant call that failed.
    /// @return reason The raw revert data (empty when none failed).
    function lastReentryError() external view returns (bytes memory reason) {
        return _lastReentryError;
    }

    /// @inheritdoc ERC20
    function transfer(address to, uint256 value) public override returns (bool) {
        if (msg.sender == _victim && !_reentering) {
            if (_mode == Mode.Reenter) {
                _reenter();
            } else if (_mode == Mode.Revert) {
                revert Refused();
            } else if (_mode == Mode.ReturnFalse) {
                return false;
            } else if (_mode == Mode.BurnGas) {
                while (true) {}
            }
        }
        return super.transfer(to, value);
    }

    /// @inheritdoc ERC20
    function transferFrom(address from, address to, uint256 value) public override returns (bool) {
        if (msg.sender == _victim && !_reentering && _mode == Mode.Reenter) _reenter();
        return super.transferFrom(from, to, value);
    }

    function _reenter() private {
        _reentering = true;
        ++_reentryAttempts;
        (bool ok, bytes memory reason) = _victim.call(_reentryCall);
        if (ok) _reentrySucceeded = true;
        else _lastReentryError = reason;
        _reentering = false;
    }
}
